/**
 * The shopper's session JWT, issued by the shop's login. The shop stores it in
 * localStorage under "flashsale.session"; a link may carry it once as `?session=`,
 * which is saved and then taken out of the address bar so it is not bookmarked,
 * shared or sent on as a referrer.
 */
import { SESSION_STORAGE_KEY } from "./config";

export function readSession(): string | null {
  const url = new URL(location.href);
  const fromLink = url.searchParams.get("session");
  if (fromLink) {
    try {
      localStorage.setItem(SESSION_STORAGE_KEY, fromLink);
    } catch {
      /* storage blocked: the token still works for this page view */
    }
    url.searchParams.delete("session");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    return fromLink;
  }
  try {
    return localStorage.getItem(SESSION_STORAGE_KEY);
  } catch {
    return null;
  }
}
