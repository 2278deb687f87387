/**
 * The shopper's session JWT, issued by the shop's login. The shop stores it in
 * localStorage under "flashsale.session"; a link may carry it once in the fragment,
 * `#session=<jwt>`, which is saved and then taken out of the address bar so it is not
 * bookmarked, shared or sent on as a referrer. Never in the query string: a query reaches
 * the CDN's and the Worker's request logs, a fragment never leaves the browser.
 */
import { SESSION_STORAGE_KEY } from "./config";
import { sessionFromFragment } from "./session-link";

export function readSession(): string | null {
  const { session, rest } = sessionFromFragment(location.hash);
  if (session) {
    try {
      localStorage.setItem(SESSION_STORAGE_KEY, session);
    } catch {
      /* storage blocked: the token still works for this page view */
    }
    history.replaceState(history.state, "", location.pathname + location.search + rest);
    return session;
  }
  try {
    return localStorage.getItem(SESSION_STORAGE_KEY);
  } catch {
    return null;
  }
}
