import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import "./i18n"; // English: jsdom's navigator.language is en-US

afterEach(cleanup);
