import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Portal } from './Portal';
import '../styles.css';
import './portal.css';

const root = document.getElementById('root');
if (!root) throw new Error('portal/index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <Portal />
  </StrictMode>,
);
