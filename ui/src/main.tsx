import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Gate } from './components/Gate';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

createRoot(root).render(
  <StrictMode>
    <Gate />
  </StrictMode>,
);
