import { XMLParser, XMLValidator } from "fast-xml-parser";

export interface ParsedTestcase {
  name: string;
  classname: string;
  time: number;
  failure?: { message: string; type: string; body: string };
  skipped?: { message: string };
  systemOut?: string;
  systemErr?: string;
  properties: Record<string, string>;
}

export interface ParsedJunit {
  tests: number;
  failures: number;
  skipped: number;
  testcases: ParsedTestcase[];
}

// Everything XML 1.0 allows: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF.
const ILLEGAL = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

type Node = Record<string, unknown>;
const text = (value: unknown): string => (typeof value === "string" ? value : value === undefined ? "" : String((value as Node)["#text"] ?? ""));

/** Checks that a JUnit document is well-formed XML 1.0 and reads what the tests look at. */
export function parseJunit(xml: string): ParsedJunit {
  for (const char of xml) {
    if (ILLEGAL.test(char)) throw new Error(`character U+${char.codePointAt(0)!.toString(16)} is not allowed in XML 1.0`);
  }
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`invalid XML: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@_",
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => ["testsuite", "testcase", "property"].includes(name),
  });
  const document = parser.parse(xml) as Node;
  const suites = document.testsuites as Node;
  const suite = (suites.testsuite as Node[])[0]!;
  const testcases = ((suite.testcase as Node[] | undefined) ?? []).map((node): ParsedTestcase => {
    const properties: Record<string, string> = {};
    const props = node.properties as Node | undefined;
    for (const property of (props?.property as Node[] | undefined) ?? []) properties[String(property["@_name"])] = String(property["@_value"]);
    const failure = node.failure as Node | string | undefined;
    const skipped = node.skipped as Node | undefined;
    return {
      name: String(node["@_name"]),
      classname: String(node["@_classname"]),
      time: Number(node["@_time"]),
      ...(failure !== undefined
        ? { failure: { message: String((failure as Node)["@_message"]), type: String((failure as Node)["@_type"]), body: text(failure) } }
        : {}),
      ...(skipped !== undefined ? { skipped: { message: String(skipped["@_message"]) } } : {}),
      ...(node["system-out"] !== undefined ? { systemOut: text(node["system-out"]) } : {}),
      ...(node["system-err"] !== undefined ? { systemErr: text(node["system-err"]) } : {}),
      properties,
    };
  });
  return {
    tests: Number(suite["@_tests"]),
    failures: Number(suite["@_failures"]),
    skipped: Number(suite["@_skipped"]),
    testcases,
  };
}
