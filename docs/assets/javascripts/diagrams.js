// Mermaid draws a diagram as wide as the column. On a phone that shrinks a
// lifecycle's labels below legible size, so a diagram keeps at least this share
// of its natural size and scrolls sideways inside its own box (stylesheets/site.css).
(() => {
  const LEAST = 0.8;
  const render = mermaid.render.bind(mermaid);
  mermaid.render = async (...args) => {
    const drawn = await render(...args);
    const svg = drawn.svg.replace(
      /^(<svg[^>]*?style="[^"]*?)max-width: ([\d.]+)px;/,
      (_, head, width) => `${head}max-width: ${width}px; min-width: ${LEAST * width}px;`,
    );
    return { ...drawn, svg };
  };
})();
