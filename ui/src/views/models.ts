// The Models view: the installed models (models/installed.ts) above the catalog with its
// downloads (models/catalog.ts, models/download.ts); what they show is shaped by the pure
// functions of models/shape.ts. This file only puts the two sections together: one error box
// for both, and each tells the other when what it shows has changed.

import { h } from "../dom";
import { errorBox, type Context, type View } from "../context";
import { catalogSection } from "./models/catalog";
import { installedSection } from "./models/installed";

export { DOWNLOAD_STATES, TRUST_LABELS, downloadDetail } from "./models/shape";

export function modelsView(ctx: Context): View & { refresh: () => Promise<void>; loadCatalog: (refresh?: boolean) => Promise<void> } {
  const errors = errorBox("models-error");
  const installed = installedSection(ctx, errors, () => void catalog.loadCatalog(false));
  const catalog = catalogSection(ctx, errors, () => void installed.refresh());
  const el = h("section", { id: "view-models", class: "view", "aria-label": "Models" }, ...installed.nodes, catalog.el);
  return {
    el,
    refresh: installed.refresh,
    loadCatalog: catalog.loadCatalog,
    shown: () => {
      void installed.refresh();
      void catalog.loadCatalog(false);
    },
  };
}
