//! `make student-notebooks` (scripts/student-notebooks.py): a hand-written notebook
//! loses exactly its cells tagged `solution` and its other cells stay byte for byte (the
//! expected file is written out by hand); every committed notebook's student copy is
//! the committed file with its solution cells cut out line by line (a second,
//! text-level computation, independent of the script's JSON one); bad input is one
//! `error:` line and writes nothing. Needs `python3`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/student-notebooks.py")
}

fn run(args: &[&Path]) -> Output {
    let out = Command::new("python3").arg(script()).args(args).output();
    out.expect("python3 is needed to run scripts/student-notebooks.py")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const CODE_A: &str = r#"  {
   "cell_type": "code",
   "execution_count": null,
   "id": "a",
   "metadata": {},
   "outputs": [],
   "source": [
    "let x = 1;"
   ]
  }"#;
const SOLUTION_B: &str = r#"  {
   "cell_type": "code",
   "execution_count": null,
   "id": "b",
   "metadata": {
    "tags": [
     "solution"
    ]
   },
   "outputs": [],
   "source": [
    "assert!(x == 1);"
   ]
  }"#;
const SOLUTIONS_C: &str = r#"  {
   "cell_type": "markdown",
   "id": "c",
   "metadata": {
    "tags": [
     "solutions",
     "hint"
    ]
   },
   "source": [
    "Not the tag \"solution\": kept. Ünïcödé → kept as is.\n",
    "Second line"
   ]
  }"#;
const SOLUTION_D: &str = r#"  {
   "cell_type": "markdown",
   "id": "d",
   "metadata": {
    "tags": [
     "exercise",
     "solution"
    ]
   },
   "source": "The answer is 42."
  }"#;
const CODE_E: &str = r#"  {
   "cell_type": "code",
   "execution_count": 3,
   "id": "e",
   "metadata": {
    "collapsed": false
   },
   "outputs": [
    {
     "name": "stdout",
     "output_type": "stream",
     "text": [
      "1\n"
     ]
    }
   ],
   "source": [
    "println!(\"{x}\");"
   ]
  }"#;
const TAIL: &str = r#" ],
 "metadata": {
  "kernelspec": {
   "display_name": "Rust (gpt2-explorer)",
   "language": "rust",
   "name": "gpt2x-rust"
  }
 },
 "nbformat": 4,
 "nbformat_minor": 5
}"#;

fn notebook(cells: &[&str], final_newline: bool) -> String {
    format!(
        "{{\n \"cells\": [\n{}\n{TAIL}{}",
        cells.join(",\n"),
        if final_newline { "\n" } else { "" }
    )
}

#[test]
fn exactly_the_solution_cells_go_and_the_rest_stays_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("src"), dir.path().join("out"));
    std::fs::create_dir_all(&src).unwrap();
    for (name, nl) in [("with-newline.ipynb", true), ("without.ipynb", false)] {
        let input = notebook(&[CODE_A, SOLUTION_B, SOLUTIONS_C, SOLUTION_D, CODE_E], nl);
        std::fs::write(src.join(name), &input).unwrap();
    }
    let untouched = notebook(&[CODE_A, CODE_E], true);
    std::fs::write(src.join("no-solutions.ipynb"), &untouched).unwrap();
    let o = run(&[
        Path::new("--out"),
        &out,
        &src.join("with-newline.ipynb"),
        &src.join("without.ipynb"),
        &src.join("no-solutions.ipynb"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("with-newline.ipynb: 2 solution cells removed, 3 kept"),
        "{said}"
    );
    assert!(said.contains("wrote 3 student notebooks"), "{said}");
    assert!(
        said.contains("note: "),
        "a folder outside the project gets the :dep note: {said}"
    );
    for (name, nl) in [("with-newline.ipynb", true), ("without.ipynb", false)] {
        let got = std::fs::read_to_string(out.join(name)).unwrap();
        assert_eq!(got, notebook(&[CODE_A, SOLUTIONS_C, CODE_E], nl), "{name}");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("no-solutions.ipynb")).unwrap(),
        untouched
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// The committed notebooks' cells, read from the text alone as JSON writers lay them
/// out with an indent of `i` spaces (nbformat: 1): each cell is the lines from
/// `{` to `}` or `},` at 2i spaces. Returns the indent and, per cell, its first and last
/// line and whether its tags list holds "solution".
fn cell_blocks(text: &str) -> (usize, Vec<(usize, usize, bool)>) {
    let cells_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("\"cells\": ["))
        .unwrap();
    let i = cells_line.len() - cells_line.trim_start().len();
    let pad = |n: usize| " ".repeat(n * i);
    let (open, close, close_comma) = (
        format!("{}{{", pad(2)),
        format!("{}}}", pad(2)),
        format!("{}}},", pad(2)),
    );
    let tags = format!("{}\"tags\": [", pad(4));
    let tags_end = [format!("{}]", pad(4)), format!("{}],", pad(4))];
    let tag = [format!("{}\"solution\"", pad(5)), format!("{}\"solution\",", pad(5))];
    let mut blocks = Vec::new();
    let (mut start, mut in_tags, mut tagged) = (None, false, false);
    for (n, l) in text.split('\n').enumerate() {
        if l == open {
            (start, tagged) = (Some(n), false);
        } else if (l == close || l == close_comma) && start.is_some() {
            blocks.push((start.take().unwrap(), n, tagged));
        } else if l == tags {
            in_tags = true;
        } else if tags_end.iter().any(|t| t == l) {
            in_tags = false;
        } else if in_tags && tag.iter().any(|t| t == l) {
            tagged = true;
        }
    }
    (i, blocks)
}

#[test]
fn every_committed_notebook_loses_its_solution_cells_line_for_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[Path::new("--out"), dir.path(), Path::new("-q")]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut notebooks: Vec<PathBuf> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("notebooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipynb"))
        .collect();
    notebooks.sort();
    assert!(notebooks.len() >= 10, "{notebooks:?}");
    for nb in &notebooks {
        let text = std::fs::read_to_string(nb).unwrap();
        let (indent, blocks) = cell_blocks(&text);
        let cells = serde_json::from_str::<serde_json::Value>(&text).unwrap()["cells"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            blocks.len(),
            cells,
            "{}: every cell found by the line scan",
            nb.display()
        );
        // Cut the tagged blocks out of the lines, then drop the comma the last kept
        // cell no longer needs.
        let lines: Vec<&str> = text.split('\n').collect();
        let mut keep: Vec<String> = Vec::new();
        let mut at = 0;
        for &(s, e, tagged) in &blocks {
            keep.extend(lines[at..s].iter().map(|l| l.to_string()));
            if !tagged {
                keep.extend(lines[s..=e].iter().map(|l| l.to_string()));
            }
            at = e + 1;
        }
        keep.extend(lines[at..].iter().map(|l| l.to_string()));
        let (list_end, cell_end) = (format!("{}],", " ".repeat(indent)), " ".repeat(2 * indent) + "},");
        if let Some(i) = keep.iter().position(|l| *l == list_end) {
            if keep[i - 1] == cell_end {
                keep[i - 1] = " ".repeat(2 * indent) + "}";
            }
        }
        let want = keep.join("\n");
        let got = std::fs::read_to_string(dir.path().join(nb.file_name().unwrap())).unwrap();
        assert!(
            got == want,
            "{}: the student copy differs from the line-level cut",
            nb.display()
        );
        if blocks.iter().all(|b| !b.2) {
            assert_eq!(got, text, "{}: no solution cells, so the very same bytes", nb.display());
        }
    }
}

#[test]
fn bad_input_is_one_error_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.ipynb");
    std::fs::write(&good, notebook(&[CODE_A], true)).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        ("broken.ipynb", "{\"cells\": [".into(), "invalid JSON at line 1"),
        ("list.ipynb", "[1, 2]".into(), "no \"cells\" list"),
        (
            "tags.ipynb",
            notebook(
                &[&CODE_A.replace("\"metadata\": {}", "\"metadata\": {\"tags\": \"solution\"}")],
                true,
            ),
            "cell 1: \"tags\" must be a list of strings",
        ),
        (
            "type.ipynb",
            notebook(&[&CODE_A.replace("\"cell_type\": \"code\",", "")], true),
            "cell 1 has no \"cell_type\"",
        ),
    ];
    for (name, text, why) in cases {
        let out = dir.path().join(format!("out-{name}"));
        let bad = dir.path().join(name);
        std::fs::write(&bad, text).unwrap();
        let o = run(&[Path::new("--out"), &out, &good, &bad]);
        assert!(!o.status.success(), "{name} accepted");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(name) && err.contains(why),
            "{name}: {err}"
        );
        assert!(!out.exists(), "{name}: nothing written, not even the good notebook");
    }
    let o = run(&[&dir.path().join("missing.ipynb")]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("missing.ipynb: no such file"),
        "{err}"
    );
    // An --out that is a file.
    let o = run(&[Path::new("--out"), &good, &good]);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("is not a folder"), "{err}");
}
