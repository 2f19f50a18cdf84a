// The event catalog: every type a receiver can get, with its JSON Schema and a sample payload.
import { useId } from "react";
import { QueryState } from "./DataTable";
import { useEventTypes } from "./EndpointForm";
import { JsonBlock } from "./ui";

export function EventCatalogView() {
  const catalog = useEventTypes();
  const id = useId();
  return (
    <section className="cjh-view" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Event catalog</h3>
      <QueryState query={catalog} what="the event catalog">
        {({ data }) => (
          <ul className="cjh-catalog">
            {data.map((type) => (
              <li key={type.type}>
                <details className="cjh-details">
                  <summary>
                    <code>{type.type}</code> — {type.description}
                  </summary>
                  <h4>Schema</h4>
                  <JsonBlock value={type.schema} label={`JSON Schema of ${type.type}`} />
                  <h4>Sample</h4>
                  <JsonBlock value={type.sample} label={`Sample ${type.type} payload`} />
                </details>
              </li>
            ))}
          </ul>
        )}
      </QueryState>
    </section>
  );
}
