// The raw editor: CodeMirror 6 with INI highlighting, themed from Fluent's tokens (so it
// follows light and dark), loaded only when someone opens the raw editor (React.lazy), so
// the first page load stays within its budget.
import { useEffect, useRef } from "react";
import { basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { StreamLanguage } from "@codemirror/language";
import { properties } from "@codemirror/legacy-modes/mode/properties";
import { tokens } from "@fluentui/react-components";

const theme = EditorView.theme({
  "&": {
    backgroundColor: tokens.colorNeutralBackground1,
    color: tokens.colorNeutralForeground1,
    border: `1px solid ${tokens.colorNeutralStroke1}`,
    borderRadius: tokens.borderRadiusMedium,
    fontSize: "13px",
  },
  "&.cm-focused": { outline: `2px solid ${tokens.colorStrokeFocus2}` },
  ".cm-content": { fontFamily: "ui-monospace, monospace", caretColor: tokens.colorNeutralForeground1 },
  ".cm-gutters": { backgroundColor: tokens.colorNeutralBackground2, color: tokens.colorNeutralForeground3, border: "none" },
  ".cm-activeLine": { backgroundColor: tokens.colorSubtleBackgroundHover },
  ".cm-activeLineGutter": { backgroundColor: tokens.colorSubtleBackgroundHover },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { backgroundColor: tokens.colorBrandBackground2 },
  ".cm-scroller": { maxHeight: "60vh", overflow: "auto" },
  ".cm-content, .cm-gutter": { minHeight: "12em" },
});

export default function CodeEditor({ value, onChange, label, readOnly = false }: { value: string; onChange: (v: string) => void; label: string; readOnly?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView>();
  const changed = useRef(onChange);
  changed.current = onChange;
  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          StreamLanguage.define(properties),
          theme,
          EditorView.lineWrapping,
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The editor is made once; later values arrive through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [label, readOnly]);
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);
  return <div ref={host} />;
}
