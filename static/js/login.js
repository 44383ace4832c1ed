// The login page only needs the language switch; the form itself posts without JS.
import { bindLangButtons } from "./i18n.js";

bindLangButtons();
