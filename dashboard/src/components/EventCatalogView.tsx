// The event catalog: every type a receiver can get, with its JSON Schema and a sample payload.
import { useId } from "react";
import { useEventTypes } from "./EndpointForm";
import { ErrorNotice, JsonBlock, Loading } from "./ui";

export function EventCatalogView() {
  const catalog = useEventTypes();
  const id = useId();
  return (
    <section className="cjh-view" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Event catalog</h3>
      {catalog.isPending
        ? <Loading what="the event catalog" />
        : catalog.error
        ? <ErrorNotice error={catalog.error} onRetry={() => catalog.refetch()} />
        : (
          <ul className="cjh-catalog">
            {catalog.data.data.map((type) => (
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
    </section>
  );
}
