import { useRef, useState } from "react";
import type { ApiError } from "../../api/client";
import { useCommand, type CommandRequest } from "./useCommand";

/**
 * A one-field form that runs a command: the field's text, the API's refusal (for the
 * field's message), and a submit that empties the field once the command succeeded and
 * keeps focus in it either way, so the next entry can be typed at once.
 */
export function useCommandForm() {
  const run = useCommand();
  const [text, setText] = useState("");
  const [error, setError] = useState<ApiError>();
  const input = useRef<HTMLInputElement>(null);
  const submit = async (request: CommandRequest) => {
    setError(undefined);
    const result = await run(request);
    if (!result.ok) setError(result.error);
    else if (result.command.status === "succeeded") setText("");
    input.current?.focus();
    return result;
  };
  return { text, setText, error, input, submit };
}
