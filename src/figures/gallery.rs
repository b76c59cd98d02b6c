//! The gallery: `index.html` in the output folder, every built figure in essay order
//! under its essay section, with its caption (made from the parameters it was built
//! with), model and seed, and links to its SVG and CSV.

use std::collections::BTreeMap;
use std::path::Path;

use super::render::outputs;
use super::{registry, stamps};
use crate::error::Result;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `index.html`: every figure that has been built, in essay order, with its
/// caption, essay section, model and seed. A small script reports on the page (and to
/// tests) whether every image loaded.
pub fn write_gallery(out: &Path) -> Result<()> {
    let specs = registry();
    let mut sections: BTreeMap<usize, (String, Vec<String>)> = BTreeMap::new();
    for (order, spec) in specs.iter().enumerate() {
        let Some(stamp) = stamps::read(out, spec.id) else {
            continue;
        };
        if !outputs(out, spec.id).iter().all(|p| p.is_file()) {
            continue;
        }
        let section_order = specs.iter().position(|s| s.section == spec.section).unwrap_or(order);
        let caption = spec.caption(&stamp.params);
        let mut meta = vec![format!("<span class=\"id\">{}</span>", spec.id)];
        if let Some(m) = &stamp.model {
            meta.push(format!("model: {}", html_escape(m)));
        }
        if let Some(seed) = stamp.params.get("seed").or_else(|| stamp.params.get("seeds")) {
            meta.push(format!("seed: {}", html_escape(&seed.to_string())));
        }
        let card = format!(
            "<figure id=\"{id}\"><a href=\"{id}.svg\"><img src=\"{id}.png\" alt=\"{alt}\" loading=\"eager\"></a><figcaption>{caption}<div class=\"meta\">{meta} · <a href=\"{id}.csv\">data (CSV)</a> · <a href=\"{id}.svg\">SVG</a></div></figcaption></figure>",
            id = spec.id,
            alt = html_escape(&caption),
            caption = html_escape(&caption),
            meta = meta.join(" · ")
        );
        sections
            .entry(section_order)
            .or_insert_with(|| (spec.section.to_string(), Vec::new()))
            .1
            .push(card);
    }
    let mut body = String::new();
    for (_, (title, cards)) in sections {
        body += &format!(
            "<section><h2>{}</h2>\n{}\n</section>\n",
            html_escape(&title),
            cards.join("\n")
        );
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What Is ChatGPT Doing: the figures, rebuilt</title>
<style>
body {{ font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 1300px; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }}
section {{ display: flex; flex-wrap: wrap; gap: 1.5rem; }} section h2 {{ flex-basis: 100%; }}
figure {{ margin: 0; width: 600px; }} img {{ width: 100%; border: 1px solid #eee; }}
figcaption {{ font-size: .95rem; margin-top: .4rem; }} .meta {{ color: #777; font-size: .85rem; margin-top: .2rem; }}
.id {{ font-family: monospace; }}
</style></head>
<body data-images-ok="pending">
<h1>What Is ChatGPT Doing … and Why Does It Work? — the figures, rebuilt</h1>
<p>Regenerate with <code>make figures</code>. Each figure links to its SVG and to the numbers behind it.</p>
{body}
<script>
window.addEventListener('load', () => {{
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = ok + '/' + imgs.length;
}});
</script>
</body></html>
"#
    );
    crate::io::write_atomic(&out.join("index.html"), html.as_bytes())
}
