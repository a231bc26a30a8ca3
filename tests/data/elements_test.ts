import {
  atomicNumber,
  ELEMENT_SYMBOLS,
  elementSymbolIgnoringCase,
  isElementSymbol,
  sortByAtomicNumber,
} from "../../data/elements.ts";
import { assertEquals, assertTrue } from "./_helpers.ts";

Deno.test("elements: 118 unique symbols with atomic numbers", () => {
  assertEquals(ELEMENT_SYMBOLS.length, 118);
  assertEquals(new Set(ELEMENT_SYMBOLS).size, 118);
  assertEquals(atomicNumber("H"), 1);
  assertEquals(atomicNumber("Fe"), 26);
  assertEquals(atomicNumber("Zr"), 40);
  assertEquals(atomicNumber("U"), 92);
  assertEquals(atomicNumber("Og"), 118);
  assertEquals(atomicNumber("fe"), undefined);
  assertTrue(isElementSymbol("Nb") && !isElementSymbol("NB") && !isElementSymbol("Load"));
  assertEquals(elementSymbolIgnoringCase(" fe "), "Fe");
  assertEquals(sortByAtomicNumber(["Zr", "B", "Fe"]), ["B", "Fe", "Zr"]);
});
