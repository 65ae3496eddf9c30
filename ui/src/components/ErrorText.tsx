import { describeError } from '../api';
import type { ApiError } from '../types';

/**
 * An error's sentence for a banner or a field. A role refusal ("Your role (Front desk) cannot …")
 * carries `data-testid="forbidden-message"`.
 */
export function ErrorText({ error }: { error: ApiError }) {
  if (error.code === 'forbidden') {
    return (
      <span className="forbidden" data-testid="forbidden-message">
        {describeError(error)}
      </span>
    );
  }
  return <>{describeError(error)}</>;
}
