import { useMemo, useState } from "react";
import { Button, Combobox, Field, Option, Popover, PopoverSurface, PopoverTrigger, Text } from "@fluentui/react-components";
import { Clock20Regular } from "@fluentui/react-icons";
import { useSession } from "../../session";
import { allZones, browserZone, getInstanceZone, pickedZone } from "../../time";

const INSTANCE = "__instance__";
const MAX_SHOWN = 60;

/** The zone times are shown in: the instance's (chosen at setup) or one this browser picks. */
export function ZonePicker() {
  const { zone, setZone } = useSession();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const zones = useMemo(allZones, []);
  const instance = getInstanceZone() ?? "UTC";
  const q = query.trim().toLowerCase();
  // Typing filters the 400-odd IANA names; the first matches are enough to pick from.
  const shown = (q ? zones.filter((z) => z.toLowerCase().includes(q)) : [browserZone(), "UTC"]).slice(0, MAX_SHOWN);
  const picked = pickedZone();
  return (
    <Popover open={open} onOpenChange={(_, d) => setOpen(d.open)} trapFocus>
      <PopoverTrigger disableButtonEnhancement>
        <Button appearance="subtle" icon={<Clock20Regular />} aria-label={`Time zone: ${zone}`}>
          {zone}
        </Button>
      </PopoverTrigger>
      <PopoverSurface aria-label="Time zone">
        <Field label="Show times in" hint={picked ? `This browser's choice; the instance uses ${instance}.` : "The instance's zone, chosen at setup."}>
          <Combobox
            placeholder="Type a zone, e.g. Berlin"
            freeform
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onOptionSelect={(_, d) => {
              if (!d.optionValue) return;
              setZone(d.optionValue === INSTANCE ? null : d.optionValue);
              setQuery("");
              setOpen(false);
            }}
          >
            <Option value={INSTANCE} text={`Instance zone (${instance})`}>
              Instance zone ({instance})
            </Option>
            {[...new Set(shown)].map((z) => (
              <Option key={z} value={z}>
                {z}
              </Option>
            ))}
          </Combobox>
        </Field>
        <Text size={200}>Now: {new Intl.DateTimeFormat(undefined, { timeZone: zone, timeStyle: "short", dateStyle: "medium" }).format(new Date())}</Text>
      </PopoverSurface>
    </Popover>
  );
}
