/** The tab's title while a component is shown; the plain product name again afterwards. */
import { useEffect } from 'react';

export const APP_TITLE = 'ShareThings';

export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = title;
    return () => {
      document.title = APP_TITLE;
    };
  }, [title]);
}

/** "(2) family · ShareThings": the session, with the count of unseen items first when any. */
export const sessionTitle = (sessionId: string, unseen: number) => `${unseen > 0 ? `(${unseen}) ` : ''}${sessionId} · ${APP_TITLE}`;
