import { assertEquals, assertThrows } from "../_assert.ts";
import {
  escapeHelp,
  escapeLabelValue,
  formatPrometheus,
  formatSampleValue,
} from "../../lib/daemon/prom_text.ts";

Deno.test("formatPrometheus() writes HELP and TYPE lines before each family's samples", () => {
  assertEquals(
    formatPrometheus([
      {
        name: "banwatch_bans_total",
        help: "Bans made.",
        type: "counter",
        samples: [{ labels: { jail: "mail" }, value: 3 }, {
          labels: { jail: "pop" },
          value: 0,
        }],
      },
      { name: "banwatch_firewall_pending", help: "Waiting.", type: "gauge", samples: [] },
      {
        name: "banwatch_start_time_seconds",
        help: "Start.",
        type: "gauge",
        samples: [{ value: 1.5 }],
      },
    ]),
    [
      "# HELP banwatch_bans_total Bans made.",
      "# TYPE banwatch_bans_total counter",
      'banwatch_bans_total{jail="mail"} 3',
      'banwatch_bans_total{jail="pop"} 0',
      "# HELP banwatch_firewall_pending Waiting.",
      "# TYPE banwatch_firewall_pending gauge",
      "# HELP banwatch_start_time_seconds Start.",
      "# TYPE banwatch_start_time_seconds gauge",
      "banwatch_start_time_seconds 1.5",
      "",
    ].join("\n"),
  );
  assertEquals(formatPrometheus([]), "");
});

Deno.test("escapeLabelValue() and escapeHelp() escape backslash, quote and newline as the format says", () => {
  assertEquals(escapeLabelValue('C:\\logs\\"a"\nb'), 'C:\\\\logs\\\\\\"a\\"\\nb');
  assertEquals(escapeHelp('a\\b "c"\nd'), 'a\\\\b "c"\\nd');
  assertEquals(
    formatPrometheus([{
      name: "x",
      help: "h",
      type: "gauge",
      samples: [{ labels: { path: '/var/log/"odd"\\name\n' }, value: 1 }],
    }]).split("\n")[2],
    'x{path="/var/log/\\"odd\\"\\\\name\\n"} 1',
  );
});

Deno.test("formatSampleValue() spells NaN and infinities as Prometheus does", () => {
  assertEquals(
    [NaN, Infinity, -Infinity, 0, -2, 1e21, 0.25].map(formatSampleValue),
    ["NaN", "+Inf", "-Inf", "0", "-2", "1e+21", "0.25"],
  );
});

Deno.test("formatPrometheus() rejects invalid metric and label names and a family given twice", () => {
  const f = (name: string, label = "jail") => ({
    name,
    help: "h",
    type: "gauge" as const,
    samples: [{ labels: { [label]: "v" }, value: 1 }],
  });
  assertThrows(() => formatPrometheus([f("banwatch-bans")]), /invalid metric name/);
  assertThrows(() => formatPrometheus([f("9lives")]), /invalid metric name/);
  assertThrows(() => formatPrometheus([f("ok", "__reserved")]), /invalid label name/);
  assertThrows(() => formatPrometheus([f("ok", "a:b")]), /invalid label name/);
  assertThrows(() => formatPrometheus([f("ok"), f("ok")]), /given twice/);
  assertEquals(formatPrometheus([f("ns:ok_1", "_x1")]).split("\n")[2], 'ns:ok_1{_x1="v"} 1');
});
