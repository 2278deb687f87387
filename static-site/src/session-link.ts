/** A sign-in link's fragment, read without touching the page (static-site/src/session.ts does that). */

/** The session a fragment carries, and the fragment to leave in the address bar without it. */
export function sessionFromFragment(hash: string): { session: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const session = params.get("session");
  if (!session) return { session: null, rest: hash };
  params.delete("session");
  const rest = params.toString();
  return { session, rest: rest ? `#${rest}` : "" };
}
