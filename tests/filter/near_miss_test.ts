import { assertEquals, assertOk } from "../_assert.ts";
import {
  compileFilter,
  considerNearMiss,
  createNearMissTracker,
  maskShape,
  nearMissCandidate,
  nearMissKeys,
  rankNearMisses,
} from "../../lib/filter/mod.ts";

const NOW = Date.UTC(2024, 5, 15) / 1000;
const REFUSED = String.raw`refused connection from <HOST>, service qpopper \(tcp\)`;
const QPOPPER = String.raw`.* at .* \(<HOST>\): -ERR \[AUTH\] Password supplied .*`;

function filter(...failregex: string[]) {
  return compileFilter({ name: "t", failregex });
}

Deno.test("maskShape() masks addresses, numbers and hex but keeps words", () => {
  assertEquals(
    maskShape("Feb 16 10:00:00 mx sshd[1000]: from 2001:db8::7 and 203.0.113.9 id 0x1f3a"),
    "Feb # # mx sshd[#]: from # and # id #x#",
  );
  assertEquals(maskShape("service qpopper (tcp6)"), "service qpopper (tcp#)");
});

Deno.test("nearMissKeys() takes the start of each failregex's first literal run", () => {
  assertEquals(nearMissKeys(filter(REFUSED)), ["refuse"]);
  // `.*` weighs nothing: the first literal run is " at ", shorter than a near miss needs.
  assertEquals(nearMissKeys(filter(QPOPPER, REFUSED)), [" at ", "refuse"]);
  // A failregex starting with an address (or case-insensitive) has no key: every line counts.
  assertEquals(nearMissKeys(filter("<HOST> refused", REFUSED)), undefined);
  assertEquals(nearMissKeys(filter("(?i)refused from <HOST>")), undefined);
});

Deno.test("near misses group lines by shape and rank the furthest first", () => {
  const t = createNearMissTracker(filter(REFUSED));
  const lines = [
    "Feb 16 10:00:00 mx sshd[1000]: Connection closed by 198.51.100.0 port 40000 [preauth]",
    "Feb 16 10:00:01 mx qpopper[77]: refused connect from 203.0.113.9 (203.0.113.9)",
    "Feb 16 10:00:02 mx inetd[77]: refused connection from 2001:db8::7, service qpopper (tcp6)",
    "Feb 16 10:00:03 mx inetd[78]: refused connection from 2001:db8::8, service qpopper (tcp6)",
    "Feb 16 10:00:04 mx qpopper[79]: refused connect from 203.0.113.10 (203.0.113.10)",
    "Feb 16 10:00:05 mx qpopper[79]: refused connect from 203.0.113.11 (203.0.113.11)",
    "Feb 16 10:00:06 mx foo[1]: refusal noted",
  ];
  lines.forEach((line, i) => {
    if (nearMissCandidate(t, line)) considerNearMiss(t, line, i + 1, NOW);
  });
  assertOk(!nearMissCandidate(t, lines[0]!));
  const ranked = rankNearMisses(t);
  assertEquals(ranked.map((g) => [g.count, g.example.number]), [[2, 3], [3, 2]]);
  const [tcp6, tcpd] = ranked;
  assertEquals(
    tcp6!.near.matchedPattern,
    String.raw`refused connection from <HOST>, service qpopper \(tcp`,
  );
  assertEquals(tcp6!.near.remainingPattern, String.raw`\)`);
  assertEquals(tcp6!.near.lineRest, "6)");
  assertEquals(tcpd!.near.matchedPattern, "refused connect");
  assertEquals(tcpd!.near.lineRest, " from 203.0.113.9 (203.0.113.9)");
  // "refus" is a few characters: not a near miss.
  assertEquals(t.groups.size, 2);
});

Deno.test("near misses stop explaining new shapes after the cap and count the rest", () => {
  const t = createNearMissTracker(filter(REFUSED), { maxExplained: 1 });
  considerNearMiss(t, "Feb 16 10:00:00 mx a: refused connect from 192.0.2.1", 1, NOW);
  considerNearMiss(t, "Feb 16 10:00:01 mx a: refused connect from 192.0.2.2", 2, NOW);
  considerNearMiss(t, "Feb 16 10:00:02 mx other: refused connection from x", 3, NOW);
  assertEquals(t.explained, 1);
  assertEquals(t.unexamined, 1);
  assertEquals(rankNearMisses(t).map((g) => g.count), [2]);
});

Deno.test("near misses skip lines the prefregex does not match", () => {
  const f = compileFilter({
    name: "t",
    prefregex: String.raw`^\S+ inetd\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
    failregex: [REFUSED],
  });
  const t = createNearMissTracker(f);
  considerNearMiss(t, "Feb 16 10:00:00 mx qpopper[1]: refused connect from 192.0.2.1", 1, NOW);
  assertEquals(rankNearMisses(t), []);
  considerNearMiss(t, "Feb 16 10:00:00 mx inetd[1]: refused connect from 192.0.2.1", 2, NOW);
  assertEquals(rankNearMisses(t).map((g) => g.near.matchedPattern), ["refused connect"]);
});
