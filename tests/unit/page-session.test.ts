import { describe, expect, it } from "vitest";
import { sessionFromFragment } from "../../static-site/src/session-link";

describe("a sign-in link carries the session in the fragment, which never leaves the browser", () => {
  it("takes the session from #session= and leaves nothing of it in the address bar", () => {
    expect(sessionFromFragment("#session=eyJ.abc.def")).toEqual({ session: "eyJ.abc.def", rest: "" });
  });

  it("keeps the rest of the fragment", () => {
    expect(sessionFromFragment("#session=t0k&lang=de")).toEqual({ session: "t0k", rest: "#lang=de" });
  });

  it("finds none in a fragment without one, and leaves that fragment alone", () => {
    expect(sessionFromFragment("")).toEqual({ session: null, rest: "" });
    expect(sessionFromFragment("#buy")).toEqual({ session: null, rest: "#buy" });
  });
});
