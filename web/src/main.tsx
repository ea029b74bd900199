import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/app';
import { AppProvider } from './app/provider';
import { applyColorMode } from './components/ui/color-mode';
import { registerServiceWorker } from './features/install/register-service-worker';
import { ServerStatusBanner } from './features/install/server-status';
import { ready } from './i18n';
import { sweepStaleFolders } from './lib/disk/opfs';

// Before the first paint, so dark-mode users never see a white flash.
applyColorMode();
registerServiceWorker();
// Received files of tabs that crashed or were killed (a live tab's files are locked).
void sweepStaleFolders();

// The first paint is in the page's language: its catalog loads first (a few kilobytes).
await ready;
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
