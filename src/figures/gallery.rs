//! The gallery: `index.html` in the output folder, every built figure in essay order
//! under its essay section, with its caption (made from the parameters it was built
//! with), model and seed, and links to its SVG and CSV. A table of contents leads to
//! each section and figure; figures are shown at their natural size (narrowed only to
//! fit the window) and open full size in an overlay on a click; the interactive views
//! (`<id>.html`) get a card with a live preview, and the static figures they belong
//! with link to them.

use std::collections::BTreeMap;
use std::path::Path;

use super::interactive::SIBLINGS;
use super::render::outputs;
use super::{registry, sections, stamps};
use crate::error::Result;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One built figure's card and its entry in the table of contents.
struct Card {
    id: &'static str,
    html: String,
}

/// Writes `index.html`: every figure that has been built, in essay order, with its
/// caption, essay section, model and seed. A small script reports on the page (and to
/// tests) whether every image loaded, and opens an image full size when clicked.
pub fn write_gallery(out: &Path) -> Result<()> {
    let specs = registry();
    let built =
        |id: &str, page: bool| stamps::read(out, id).is_some() && outputs(out, id, page).iter().all(|p| p.is_file());
    let mut sections: BTreeMap<usize, (String, Vec<Card>)> = BTreeMap::new();
    for (order, spec) in specs.iter().enumerate() {
        let Some(stamp) = stamps::read(out, spec.id) else {
            continue;
        };
        if !built(spec.id, spec.page) {
            continue;
        }
        // Sections in the order of `sections::ALL` (the essay's, the pages beyond the
        // essay last); a section not listed there after them, by its first figure.
        let section_order = sections::ALL
            .iter()
            .position(|s| *s == spec.section)
            .unwrap_or(sections::ALL.len() + order);
        let caption = spec.caption(&stamp.params);
        let mut meta = vec![format!("<span class=\"id\">{}</span>", spec.id)];
        if let Some(m) = &stamp.model {
            meta.push(format!("model: {}", html_escape(m)));
        }
        if let Some(seed) = stamp.params.get("seed").or_else(|| stamp.params.get("seeds")) {
            meta.push(format!("seed: {}", html_escape(&seed.to_string())));
        }
        let id = spec.id;
        let html = if spec.page {
            format!(
                "<figure id=\"{id}\" class=\"page\"><div class=\"open\"><a href=\"{id}.html\">▶ open the interactive page</a></div>\
                 <iframe src=\"{id}.html\" loading=\"lazy\" title=\"{alt}\"></iframe><figcaption>{caption}<div class=\"meta\">{meta} · \
                 <a href=\"{id}.html\">page</a> · <a href=\"{id}.csv\">data (CSV)</a></div></figcaption></figure>",
                alt = html_escape(&caption),
                caption = html_escape(&caption),
                meta = meta.join(" · ")
            )
        } else {
            let views: Vec<String> = SIBLINGS
                .iter()
                .filter(|(s, v)| *s == id && built(v, true))
                .map(|(_, v)| format!("<a class=\"interactive\" href=\"{v}.html\">interactive: {v}</a>"))
                .collect();
            let views = if views.is_empty() {
                String::new()
            } else {
                format!(" · {}", views.join(" · "))
            };
            format!(
                "<figure id=\"{id}\"><img src=\"{id}.png\" alt=\"{alt}\" title=\"click to enlarge\" loading=\"eager\">\
                 <figcaption>{caption}<div class=\"meta\">{meta} · <a href=\"{id}.csv\">data (CSV)</a> · <a href=\"{id}.svg\">SVG</a>{views}</div></figcaption></figure>",
                alt = html_escape(&caption),
                caption = html_escape(&caption),
                meta = meta.join(" · ")
            )
        };
        sections
            .entry(section_order)
            .or_insert_with(|| (spec.section.to_string(), Vec::new()))
            .1
            .push(Card { id, html });
    }
    let mut toc = String::new();
    let mut body = String::new();
    for (n, (_, (title, cards))) in sections.iter().enumerate() {
        let links: Vec<String> = cards
            .iter()
            .map(|c| format!("<a href=\"#{0}\">{0}</a>", c.id))
            .collect();
        toc += &format!(
            "<li><a href=\"#section-{n}\">{}</a> <span class=\"ids\">{}</span></li>\n",
            html_escape(title),
            links.join(" ")
        );
        body += &format!(
            "<section id=\"section-{n}\"><h2>{}</h2>\n{}\n</section>\n",
            html_escape(title),
            cards.iter().map(|c| c.html.as_str()).collect::<Vec<_>>().join("\n")
        );
    }
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>What Is ChatGPT Doing: the figures, rebuilt</title>
<style>
body {{ font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 1320px; padding: 0 1rem; color: #222; }}
h1 {{ font-weight: 600; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; margin-top: 2.5rem; }}
nav.toc {{ background: #f7f7f7; border: 1px solid #e4e4e4; border-radius: 4px; padding: .6rem 1.2rem; }}
nav.toc ul {{ margin: .3rem 0; padding-left: 0; list-style: none; }} nav.toc li {{ margin: .25rem 0; }}
nav.toc .ids {{ font-family: monospace; font-size: .8rem; color: #777; }} nav.toc .ids a {{ color: #557; margin-right: .4rem; }}
section {{ display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }} section h2 {{ flex-basis: 100%; }}
figure {{ margin: 0; max-width: 100%; }}
figure img {{ display: block; max-width: 100%; height: auto; border: 1px solid #eee; cursor: zoom-in; }}
figure.page {{ width: 100%; }} figure.page iframe {{ width: 100%; height: 560px; border: 1px solid #ccc; border-radius: 4px; }}
figure.page .open {{ margin-bottom: .3rem; font-weight: 600; }}
figcaption {{ font-size: .95rem; margin-top: .4rem; max-width: 1200px; }} .meta {{ color: #777; font-size: .85rem; margin-top: .2rem; }}
a.interactive {{ font-weight: 600; color: #0a5; }}
.id {{ font-family: monospace; }}
#zoom {{ position: fixed; inset: 0; background: rgba(20,20,20,.85); overflow: auto; display: none; z-index: 10; cursor: zoom-out; }}
#zoom.open {{ display: block; }} #zoom img {{ display: block; margin: 1rem auto; background: #fff; max-width: none; }}
#zoom .hint {{ position: fixed; top: .4rem; right: 1rem; color: #eee; font-size: .85rem; }}
</style></head>
<body data-images-ok="pending">
<h1>What Is ChatGPT Doing … and Why Does It Work? — the figures, rebuilt</h1>
<p>Regenerate with <code>make figures</code>. Figures are shown at their natural size; click one to see it full size (Esc or a click closes it). Each links to its SVG and to the numbers behind it; the interactive pages open in the browser, with no network.</p>
<nav class="toc"><strong>Contents</strong>
<ul>
{toc}</ul></nav>
{body}
<div id="zoom" role="dialog" aria-label="figure at full size"><span class="hint">full size · Esc or click to close</span><img alt=""></div>
<script>
window.addEventListener('load', () => {{
  const imgs = [...document.querySelectorAll('figure img')];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesOk = ok + '/' + imgs.length;
}});
const zoom = document.getElementById('zoom'), big = zoom.querySelector('img');
document.querySelectorAll('figure img').forEach(img => img.addEventListener('click', () => {{
  big.src = img.src; big.alt = img.alt; zoom.classList.add('open'); zoom.scrollTo(0, 0);
}}));
zoom.addEventListener('click', () => zoom.classList.remove('open'));
document.addEventListener('keydown', e => {{ if (e.key === 'Escape') zoom.classList.remove('open'); }});
</script>
</body></html>
"#
    );
    crate::io::write_atomic(&out.join("index.html"), html.as_bytes())
}
