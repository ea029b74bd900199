import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/app';
import { AppProvider } from './app/provider';
import { applyColorMode } from './components/ui/color-mode';
import { registerServiceWorker } from './features/install/register-service-worker';
import { ServerStatusBanner } from './features/install/server-status';

// Before the first paint, so dark-mode users never see a white flash.
applyColorMode();
registerServiceWorker();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <AppProvider>
        <ServerStatusBanner />
        <App />
      </AppProvider>
    </StrictMode>,
  );
}
