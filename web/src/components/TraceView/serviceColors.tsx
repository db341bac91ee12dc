// The trace view's service colours, shared by the waterfall, minimap, graph and details.
import { createContext, useContext } from 'react';
import { serviceColor } from '../../model/colors';

export const ServiceColorContext = createContext<(service: string) => string>(serviceColor);

export function useServiceColor() {
  return useContext(ServiceColorContext);
}
