//! The figure lint (`figures::lint`) over every figure of the table, built with its
//! default parameters on SmolLM2-135M-Instruct (the model the gallery uses offline):
//! text inside the canvas and not cut off, labels not overlapping, no text under
//! `lint::MIN_TEXT_PX`, a distinct colour per class, and the caption's claims true of
//! the CSV. Then the lint itself on hand-made figures that break each rule, so that a
//! lint that cannot fail fails here.
//!
//! `FIGURE_LINT_IDS=id1,id2 cargo test --test figure_lint` lints only those figures.

use gpt2_explorer::figures::{self, lint, Figure, Plot, Table};
use gpt2_explorer::plot::{layout, BarChart, Scatter, ScatterPoint, TextPanel, ValueFormat};
use gpt2_explorer::LoadedModel;

#[test]
fn every_figure_passes_the_lint() {
    let lm = LoadedModel::load("smollm2", true).expect("SmolLM2 GGUF in data/cache/smollm2: run `make setup`");
    let only: Vec<String> = std::env::var("FIGURE_LINT_IDS")
        .map(|s| {
            s.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut findings = Vec::new();
    let mut linted = 0;
    for spec in figures::registry() {
        if !only.is_empty() && !only.iter().any(|i| i == spec.id) {
            continue;
        }
        // Interactive pages have no static picture to lint; tests/views.rs checks them
        // in a browser.
        if spec.page {
            continue;
        }
        let t = std::time::Instant::now();
        let fig = figures::make(spec.id, serde_json::Value::Null, Some(&lm))
            .unwrap_or_else(|e| panic!("{}: the figure does not build: {e}", spec.id));
        let found = lint::check(spec.id, &fig).unwrap();
        eprintln!(
            "{:<28} {:>3} findings  {:.1} s",
            spec.id,
            found.len(),
            t.elapsed().as_secs_f64()
        );
        findings.extend(found);
        linted += 1;
    }
    assert!(linted > 0, "FIGURE_LINT_IDS names no figure of the table");
    let report: Vec<String> = findings.iter().map(ToString::to_string).collect();
    assert!(
        findings.is_empty(),
        "{} findings in {linted} figures:\n{}",
        findings.len(),
        report.join("\n")
    );
}

fn figure(plot: Plot, size: (u32, u32)) -> Figure {
    let mut table = Table::new(&["x"]);
    table.push(vec!["1".into()]);
    Figure { plot, table, size }
}

fn rules(id: &str, fig: &Figure) -> Vec<lint::Rule> {
    lint::check(id, fig).unwrap().into_iter().map(|f| f.rule).collect()
}

#[test]
fn a_clean_figure_passes() {
    let fig = figure(
        Plot::Bars(BarChart {
            title: "Next word".into(),
            subtitle: "a short subtitle".into(),
            labels: vec!["learn".into(), "predict".into()],
            values: vec![0.045, 0.035],
            value_format: ValueFormat::Percent(1),
            ..Default::default()
        }),
        (1200, 800),
    );
    assert_eq!(rules("clean", &fig), vec![]);
}

#[test]
fn the_lint_finds_small_text_and_overlapping_labels() {
    // The plot library never draws under the minimum (its sizes have that floor), so a
    // record of a 9 px text, and of a text half outside the canvas, is made by hand.
    let text = |t: &str, px: f64, rect| layout::TextRecord {
        text: t.into(),
        px,
        rect,
        role: layout::Role::Tick,
    };
    let record = layout::Layout {
        size: (300, 200),
        texts: vec![
            text("tiny", 9.0, (10.0, 10.0, 30.0, 17.0)),
            text("edge", 14.0, (280.0, 50.0, 320.0, 60.0)),
        ],
        ..Default::default()
    };
    let found: Vec<lint::Rule> = lint::check_layout("hand-made", &record)
        .into_iter()
        .map(|f| f.rule)
        .collect();
    assert_eq!(found, vec![lint::Rule::TooSmall, lint::Rule::Clipped], "{found:?}");
    // And a real figure at a small size keeps its text at the minimum or above.
    let small = figure(
        Plot::Bars(BarChart {
            labels: vec!["a".into(), "b".into()],
            values: vec![1.0, 2.0],
            ..Default::default()
        }),
        (300, 200),
    );
    let layout = lint::layout_of(&small).unwrap();
    assert!(!layout.texts.is_empty() && layout.texts.iter().all(|t| t.px >= lint::MIN_TEXT_PX));
    // Two labelled points at the same place, among others far away: their labels
    // cannot both find a free spot.
    let mut points = vec![];
    for i in 0..9 {
        points.push(ScatterPoint {
            x: 0.0,
            y: 0.0,
            label: format!("a long label number {i}"),
            group: 0,
        });
    }
    points.push(ScatterPoint {
        x: 10.0,
        y: 10.0,
        label: "far".into(),
        group: 0,
    });
    let crowded = figure(
        Plot::Scatter(Scatter {
            points,
            ..Default::default()
        }),
        (1200, 800),
    );
    assert!(rules("crowded", &crowded).contains(&lint::Rule::Overlap));
}

#[test]
fn the_lint_finds_repeated_colours_and_cut_text() {
    // More groups than the palette has colours.
    let points = (0..14)
        .map(|i| ScatterPoint {
            x: i as f64,
            y: (i * i) as f64,
            label: String::new(),
            group: i,
        })
        .collect();
    let many = figure(
        Plot::Scatter(Scatter {
            points,
            groups: (0..14).map(|i| format!("g{i}")).collect(),
            ..Default::default()
        }),
        (1200, 800),
    );
    assert!(rules("many", &many).contains(&lint::Rule::Palette));
    // A panel title far too long for its panel is ellipsised: cut off.
    let grid = figure(
        Plot::Grid {
            panels: gpt2_explorer::plot::Panels {
                title: String::new(),
                subtitle: String::new(),
                panel_titles: vec!["a panel title far too long for a panel of this small width, by far".into(); 4],
                columns: 4,
            },
            plots: vec![
                Plot::Text(TextPanel {
                    paragraphs: vec![vec![gpt2_explorer::plot::Span::plain("x")]],
                    ..Default::default()
                });
                4
            ],
        },
        (1200, 800),
    );
    assert!(rules("grid", &grid).contains(&lint::Rule::Shortened));
}

#[test]
fn the_lint_checks_caption_claims_against_the_csv() {
    let mut t = Table::new(&[
        "n",
        "possible_with_vocabulary",
        "distinct_seen_in_corpus",
        "corpus_words",
    ]);
    t.push(vec!["1".into(), "40000".into(), "54047".into(), "3000000".into()]);
    let found = lint::check_claims("ngram-combinatorics", &t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].detail.contains("54047"), "{}", found[0]);
    let mut ok = Table::new(&[
        "n",
        "possible_with_vocabulary",
        "distinct_seen_in_corpus",
        "corpus_words",
    ]);
    ok.push(vec!["1".into(), "40000".into(), "39000".into(), "3000000".into()]);
    assert!(lint::check_claims("ngram-combinatorics", &ok).is_empty());

    let mut loss = Table::new(&["step", "batch_loss", "smoothed"]);
    for s in 0..100 {
        let v = if s == 80 { 5.0 } else { 1.0 / (s + 1) as f64 + 0.01 };
        loss.push(vec![s.to_string(), v.to_string(), v.to_string()]);
    }
    assert_eq!(lint::check_claims("loss-curve", &loss).len(), 1);

    let mut prob = Table::new(&["rank", "prob"]);
    prob.push(vec!["1".into(), "1.5".into()]);
    assert_eq!(lint::check_claims("next-word-top5", &prob).len(), 1);

    // The parentheses figures: the old 16-token budget completed every run of "(" (the
    // caption's "then starts to fail" was not shown), and a 1-block model that slips no
    // more than the 2-block one contradicts "slips more".
    let mut runs = Table::new(&["opens", "completion", "balanced", "probability", "balanced_1_block"]);
    for n in 1..=7 {
        runs.push(vec![
            n.to_string(),
            ") End".into(),
            "true".into(),
            "0.1".into(),
            "true".into(),
        ]);
    }
    assert_eq!(lint::check_claims("parens-completions", &runs).len(), 1);
    runs.push(vec![
        "8".into(),
        ") End".into(),
        "false".into(),
        "0.1".into(),
        "true".into(),
    ]);
    assert!(lint::check_claims("parens-completions", &runs).is_empty());
    let mut next = Table::new(&["blocks", "sequence", "position", "mean_forbidden"]);
    for (b, v) in [("2", "0.001"), ("1", "0.0005")] {
        next.push(vec![b.into(), "sampled".into(), "1".into(), v.into()]);
    }
    assert_eq!(lint::check_claims("parens-next-token", &next).len(), 1);
}
