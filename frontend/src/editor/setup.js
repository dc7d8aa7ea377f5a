// The CodeMirror 6 setup for manifests: YAML, line numbers, folding, brackets, two-space indents,
// search, undo history, lint underlines and gutter marks, and a dark theme that matches the terminal.
import { EditorState } from "@codemirror/state";
import {
  EditorView, crosshairCursor, drawSelection, dropCursor, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, keymap, lineNumbers, rectangularSelection,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  HighlightStyle, bracketMatching, foldGutter, foldKeymap, indentOnInput, indentUnit, syntaxHighlighting,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";
import { lintGutter, lintKeymap } from "@codemirror/lint";
import { yaml } from "@codemirror/lang-yaml";
import { tags as t } from "@lezer/highlight";

// Colours picked for contrast on #0d1117 (all ≥ 4.5:1), GitHub-dark-like so YAML reads like kubectl's output.
const highlight = HighlightStyle.define([
  { tag: [t.propertyName, t.definition(t.propertyName)], color: "#7ee787" },   // keys
  { tag: [t.string, t.special(t.string), t.content], color: "#a5d6ff" },        // values
  { tag: [t.number, t.bool, t.null, t.atom], color: "#79c0ff" },
  { tag: t.keyword, color: "#ff7b72" },
  { tag: [t.comment, t.lineComment, t.blockComment], color: "#8b949e", fontStyle: "italic" },
  { tag: [t.meta, t.documentMeta, t.processingInstruction], color: "#d2a8ff" },  // --- and %YAML
  { tag: [t.labelName, t.typeName, t.tagName], color: "#ffa657" },              // anchors, aliases, !tags
  { tag: [t.separator, t.punctuation, t.squareBracket, t.brace], color: "#c9d1d9" },
  { tag: t.invalid, color: "#ffa198" },
]);

const theme = EditorView.theme({
  "&": { color: "#e6edf3", backgroundColor: "#0d1117", height: "100%" },
  ".cm-scroller": { fontFamily: "var(--mono)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "#7ee787", padding: "8px 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "#7ee787", borderLeftWidth: "2px" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": {
    backgroundColor: "#264f78 !important",
  },
  ".cm-activeLine": { backgroundColor: "#161b22" },
  ".cm-gutters": { backgroundColor: "#0d1117", color: "#6e7681", border: "none", borderRight: "1px solid #21262d" },
  ".cm-activeLineGutter": { backgroundColor: "#161b22", color: "#c9d1d9" },
  ".cm-foldPlaceholder": { backgroundColor: "#21262d", border: "none", color: "#8b949e" },
  ".cm-matchingBracket, &.cm-focused .cm-matchingBracket": { backgroundColor: "#2d4a33", outline: "1px solid #3fb950" },
  ".cm-selectionMatch": { backgroundColor: "#1f3a5f" },
  ".cm-searchMatch": { backgroundColor: "#5a4a12", outline: "1px solid #e3b341" },
  ".cm-panels": { backgroundColor: "#161b22", color: "#e6edf3" },
  ".cm-panels.cm-panels-bottom": { borderTop: "1px solid #30363d" },
  ".cm-textfield": { backgroundColor: "#0d1117", color: "#e6edf3", border: "1px solid #30363d" },
  ".cm-button": { backgroundImage: "none", backgroundColor: "#21262d", color: "#e6edf3", border: "1px solid #30363d" },
  ".cm-tooltip": { backgroundColor: "#161b22", color: "#e6edf3", border: "1px solid #30363d" },
  ".cm-tooltip-lint": { maxWidth: "40rem" },
  ".cm-diagnostic": { padding: "4px 8px", whiteSpace: "pre-wrap" },
  ".cm-diagnostic-error": { borderLeft: "4px solid #f85149" },
  ".cm-diagnostic-warning": { borderLeft: "4px solid #e3b341" },
  ".cm-lintRange-error": {
    backgroundImage: "none", textDecoration: "underline wavy #f85149", textUnderlineOffset: "3px",
    textDecorationSkipInk: "none",
  },
  ".cm-lintRange-warning": {
    backgroundImage: "none", textDecoration: "underline wavy #e3b341", textUnderlineOffset: "3px",
  },
  ".cm-lint-marker": { width: "0.9em", height: "0.9em" },
}, { dark: true });

/**
 * A new editor state for one file. `onChange(state)` hears every edit; `onApply()` is Ctrl/Cmd-Enter.
 * `readOnly` (an instructor's view of a learner's files): no edits, no Apply key, no lint gutter; the text can
 * still be selected, searched and folded.
 */
export function manifestState(text, { onChange, onApply, readOnly = false }) {
  if (readOnly) {
    return EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), foldGutter(), drawSelection(),
        syntaxHighlighting(highlight), highlightActiveLine(), highlightSelectionMatches(),
        EditorState.tabSize.of(2), yaml(), theme, EditorView.lineWrapping, EditorState.readOnly.of(true),
        keymap.of([...defaultKeymap, ...searchKeymap, ...foldKeymap]),
        EditorView.contentAttributes.of({ "aria-label": "Manifest editor (YAML, read-only)", "aria-readonly": "true" }),
      ],
    });
  }
  return EditorState.create({
    doc: text,
    extensions: [
      lineNumbers(), highlightActiveLineGutter(), highlightSpecialChars(), history(), foldGutter(),
      drawSelection(), dropCursor(), EditorState.allowMultipleSelections.of(true), indentOnInput(),
      syntaxHighlighting(highlight), bracketMatching(), closeBrackets(), rectangularSelection(),
      crosshairCursor(), highlightActiveLine(), highlightSelectionMatches(), lintGutter(),
      indentUnit.of("  "), EditorState.tabSize.of(2), yaml(), theme,
      // Long comments and values wrap: a half-screen editor must not hide the end of a line.
      EditorView.lineWrapping,
      // Manifests must not contain tabs; Tab indents with spaces (Esc then Tab leaves the editor).
      keymap.of([
        { key: "Mod-Enter", run: () => { onApply(); return true; } },
        ...closeBracketsKeymap, ...defaultKeymap, ...searchKeymap, ...historyKeymap, ...foldKeymap,
        ...lintKeymap, indentWithTab,
      ]),
      EditorView.updateListener.of((update) => { if (update.docChanged) onChange(update.state); }),
      EditorView.contentAttributes.of({ "aria-label": "Manifest editor (YAML)" }),
    ],
  });
}

export { EditorView };

/** The details drawer's YAML: the same colours, read-only, no lint. */
export const readOnlyYamlExtensions = [
  lineNumbers(), foldGutter(), syntaxHighlighting(highlight), yaml(), theme,
  EditorState.readOnly.of(true), EditorView.editable.of(false), EditorState.tabSize.of(2),
  keymap.of([...defaultKeymap, ...searchKeymap, ...foldKeymap]),
  EditorView.contentAttributes.of({ "aria-label": "Object YAML (read-only)" }),
];
