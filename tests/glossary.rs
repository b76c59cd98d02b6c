//! docs/glossary.md: every term of the course's list has an entry (an anchor line
//! `<a id="SLUG"></a>` followed by a heading `### English term (中文术语)` carrying a
//! Chinese term), no anchor is defined twice, and every `glossary.md#SLUG` link in the
//! notebooks and docs points at an anchor that exists.

use std::collections::HashSet;
use std::path::Path;

/// The slugs the course's notebooks may link to (the list shared by the notebook
/// authors); the glossary may define more.
const REQUIRED: &str = "token tokenizer logit softmax temperature probability n-gram embedding cosine-similarity pca
neural-net neuron weight parameter activation-function relu gelu loss gradient gradient-descent
learning-rate epoch overfitting transformer block residual-stream attention attention-head
attention-pattern mlp layernorm rmsnorm rope positional-embedding unembedding kv-cache greedy
sampling logit-lens ablation activation-patching induction-head in-context-learning
instruction-tuning rlhf";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The anchors of the glossary, checked for their headings.
fn anchors() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs/glossary.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.strip_prefix("<a id=\"") else {
            continue;
        };
        let slug = rest
            .strip_suffix("\"></a>")
            .unwrap_or_else(|| panic!("line {}: {l}", i + 1));
        let heading = lines.get(i + 1).copied().unwrap_or_default();
        assert!(
            heading.starts_with("### "),
            "{slug}: the anchor is not followed by a heading: {heading}"
        );
        let chinese = heading
            .rfind('(')
            .map(|at| &heading[at..])
            .is_some_and(|t| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
        assert!(chinese, "{slug}: the heading names no Chinese term: {heading}");
        found.push(slug.to_string());
    }
    found
}

#[test]
fn every_course_term_has_an_entry_with_its_chinese_term() {
    let have = anchors();
    let missing: Vec<&str> = REQUIRED
        .split_whitespace()
        .filter(|s| !have.iter().any(|h| h == s))
        .collect();
    assert!(missing.is_empty(), "glossary entries missing: {missing:?}");
    let mut seen = HashSet::new();
    let twice: Vec<&String> = have.iter().filter(|s| !seen.insert(*s)).collect();
    assert!(twice.is_empty(), "anchors defined twice: {twice:?}");
}

#[test]
fn every_glossary_link_points_at_an_entry() {
    let have: HashSet<String> = anchors().into_iter().collect();
    let mut files: Vec<_> = std::fs::read_dir(root().join("notebooks"))
        .unwrap()
        .chain(std::fs::read_dir(root().join("docs")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipynb" || x == "md"))
        .collect();
    files.push(root().join("README.md"));
    let mut links = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (at, _) in text.match_indices("glossary.md#") {
            let slug: String = text[at + "glossary.md#".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(
                have.contains(&slug),
                "{}: link to glossary.md#{slug}, which has no entry",
                f.display()
            );
            links += 1;
        }
    }
    assert!(links > 20, "only {links} glossary links found: is the search broken?");
}
