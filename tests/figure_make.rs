//! `figures::make`, the in-memory build the notebooks use: parameters overridden by
//! name, unknown names and missing models refused with the fix.

use gpt2_explorer::figures;
use serde_json::json;

#[test]
fn makes_a_card_in_memory_as_svg_and_png() {
    let fig = figures::make("gpt3-quotes", serde_json::Value::Null, None).unwrap();
    assert!(fig.svg().unwrap().contains("<svg"));
    assert_eq!(&fig.png().unwrap()[1..4], b"PNG");
}

#[test]
fn refuses_unknown_ids_parameters_and_missing_models() {
    let e = figures::make("no-such-figure", json!({}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("unknown figure id `no-such-figure`"), "{e}");
    let e = figures::make("next-word-top5", json!({"promt": "x"}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("has no parameter `promt`") && e.contains("prompt"), "{e}");
    let e = figures::make("next-word-top5", json!({"prompt": "x"}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("needs a model"), "{e}");
    let e = figures::make("next-word-top5", json!([1]), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("must be a JSON object"), "{e}");
}

/// A value of the wrong type is one line naming the figure and the key (before typed
/// parameters it was read as 0 or "" and drawn).
#[test]
fn refuses_mistyped_parameters_naming_the_key_and_the_figure() {
    let e = figures::make("next-word-top5", json!({"top": "five"}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("figure `next-word-top5`") && e.contains("parameter `top`") && e.contains("invalid type"),
        "{e}"
    );
    let e = figures::make("fit-line", json!({"floors": -2}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("figure `fit-line`: parameter `floors`"), "{e}");
    let e = figures::make("sampled-five", json!({"seeds": [1, "two"]}), None)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("parameter `seeds[1]`"), "{e}");
    assert!(!e.contains('\n'), "one line: {e}");
}

/// Every figure's declared parameters read back into its typed struct, and every
/// `{key}` of its caption is one of them (a caption cannot contradict its parameters).
#[test]
fn captions_are_made_from_the_parameters() {
    for spec in figures::registry() {
        let params = spec.params().unwrap_or_else(|e| panic!("{}: {e}", spec.id));
        for key in figures::params::placeholders(spec.caption_template) {
            assert!(
                params.contains_key(key),
                "{}: caption names `{key}`, which is not a parameter",
                spec.id
            );
        }
        assert!(
            !spec.caption(&params).contains('{'),
            "{}: {}",
            spec.id,
            spec.caption(&params)
        );
    }
    let spec = figures::select(&["sampled-continuation".to_string()])
        .unwrap()
        .pop()
        .unwrap();
    let mut params = spec.params().unwrap();
    params.insert("temperature".into(), json!(1.5));
    assert!(
        spec.caption(&params).contains("temperature 1.5"),
        "{}",
        spec.caption(&params)
    );
}

/// Every figure of the essay's list (tests/fixtures/essay_figure_ids.txt, copied from
/// docs/essay-figures.md) is in the registry, in essay order; figures beyond the essay (the
/// logit lens) may sit between them.
#[test]
fn the_registry_holds_every_essay_figure_in_essay_order() {
    let want: Vec<String> = include_str!("fixtures/essay_figure_ids.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect();
    let have: Vec<&str> = figures::registry().iter().map(|f| f.id).collect();
    let missing: Vec<&String> = want.iter().filter(|id| !have.contains(&id.as_str())).collect();
    assert!(
        missing.is_empty(),
        "figures of the essay missing from the registry: {missing:?}"
    );
    let order: Vec<&str> = have.iter().copied().filter(|id| want.iter().any(|w| w == id)).collect();
    assert_eq!(
        order,
        want.iter().map(String::as_str).collect::<Vec<_>>(),
        "registry order differs from the essay's"
    );
}

#[test]
fn every_section_is_spelt_one_way_and_its_figures_sit_together() {
    // The gallery groups figures by the exact section text: a second spelling of a
    // heading ("6. Inside ChatGPT (GPT-2 internals)" beside "6. Inside ChatGPT") would
    // open a second section, and a section split by another would show twice.
    let specs = figures::registry();
    let mut seen: Vec<&str> = Vec::new();
    for spec in &specs {
        assert!(
            figures::sections::ALL.contains(&spec.section),
            "{}: section {:?} is not one of figures::sections::ALL",
            spec.id,
            spec.section
        );
        if seen.last() != Some(&spec.section) {
            assert!(
                !seen.contains(&spec.section),
                "{}: section {:?} starts again after {:?}",
                spec.id,
                spec.section,
                seen.last()
            );
            seen.push(spec.section);
        }
    }
    assert_eq!(
        seen.len(),
        figures::sections::ALL.len(),
        "sections without figures: {seen:?}"
    );
}

#[test]
fn a_short_text_figure_is_cut_below_its_last_line_and_loses_nothing() {
    use gpt2_explorer::figures::Plot;
    use gpt2_explorer::plot;
    let fig = figures::make("gpt3-quotes", serde_json::Value::Null, None).unwrap();
    let Plot::Text(panel) = &fig.plot else {
        panic!("gpt3-quotes is a text card")
    };
    let (w, h) = fig.size;
    let cut = image::load_from_memory(&fig.png().unwrap()).unwrap().to_rgb8();
    assert_eq!(cut.width(), w);
    assert!(
        cut.height() < h && cut.height() >= h / 3,
        "a short card kept {} of {h} rows",
        cut.height()
    );
    // The same panel on the whole canvas: the rows kept are identical, and below them
    // there is only background (nothing was cut off).
    let full = plot::png_bytes(fig.size, |area| plot::draw_text_panel(area, panel)).unwrap();
    let full = image::load_from_memory(&full).unwrap().to_rgb8();
    for y in 0..h {
        for x in 0..w {
            if y < cut.height() {
                assert_eq!(full.get_pixel(x, y), cut.get_pixel(x, y), "({x}, {y})");
            } else {
                assert_eq!(
                    full.get_pixel(x, y).0,
                    [255, 255, 255],
                    "ink below the cut at ({x}, {y})"
                );
            }
        }
    }
    // The SVG says the same height.
    let svg = fig.svg().unwrap();
    let head = format!(
        "width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\"",
        cut.height(),
        cut.height()
    );
    assert!(svg.starts_with(&format!("<svg {head}")), "{}", &svg[..120]);
    // A chart keeps its whole canvas.
    let chart = figures::make("relu", serde_json::Value::Null, None).unwrap();
    let img = image::load_from_memory(&chart.png().unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), chart.size);
}
