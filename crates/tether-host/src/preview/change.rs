//! What a file will hold after a tool runs, computed from what it holds
//! now. Pure: the same rules the tools apply, so an edit that will fail is
//! said to fail before anyone allows it.

use serde_json::Value;

/// One `old_string` → `new_string` replacement (`Edit`, each of `MultiEdit`).
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub old: String,
    pub new: String,
    /// Replace every occurrence; otherwise there must be exactly one.
    pub all: bool,
}

/// `NotebookEdit`: one cell's source replaced, a cell inserted or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct NotebookEdit {
    pub cell_id: Option<String>,
    pub new_source: String,
    /// `replace`, `insert` or `delete`.
    pub mode: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The whole new content.
    Write(String),
    Edits(Vec<Edit>),
    Notebook(NotebookEdit),
}

/// The two sides of the diff to show, and what its header names.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// `None`: there is nothing yet (a new file).
    pub before: Option<String>,
    pub after: String,
    /// The path, with the cell for a notebook.
    pub label: String,
}

/// Applies `change` to the file `shown`, whose text is `old` (`None`: it
/// does not exist). `Err` says why the tool will fail.
pub fn apply(old: Option<&str>, change: &Change, shown: &str) -> Result<Applied, String> {
    let whole = |after: String| Applied {
        before: old.map(str::to_owned),
        after,
        label: shown.to_owned(),
    };
    match change {
        Change::Write(content) => Ok(whole(content.clone())),
        Change::Edits(edits) => apply_edits(old, edits, shown).map(whole),
        Change::Notebook(edit) => {
            let old = old.ok_or_else(|| format!("that edit will fail: {shown} does not exist"))?;
            apply_notebook(old, edit, shown)
        }
    }
}

fn apply_edits(old: Option<&str>, edits: &[Edit], shown: &str) -> Result<String, String> {
    let fail = |why: String| Err(format!("that edit will fail: {why}"));
    let mut text = old.map(str::to_owned);
    for edit in edits {
        let Some(current) = text.as_deref() else {
            // An empty old_string creates a file that does not exist yet.
            if edit.old.is_empty() {
                text = Some(edit.new.clone());
                continue;
            }
            return fail(format!("{shown} does not exist"));
        };
        if edit.old.is_empty() {
            return fail(format!("old_string is empty but {shown} already exists"));
        }
        if edit.old == edit.new {
            return fail("old_string and new_string are the same".into());
        }
        let found = current.matches(edit.old.as_str()).count();
        if found == 0 {
            return fail(format!("old_string not found in {shown}"));
        }
        if found > 1 && !edit.all {
            return fail(format!(
                "old_string occurs {found} times in {shown} and replace_all is false"
            ));
        }
        text = Some(if edit.all {
            current.replace(&edit.old, &edit.new)
        } else {
            current.replacen(&edit.old, &edit.new, 1)
        });
    }
    Ok(text.unwrap_or_default())
}

/// A notebook's diff is the diff of the cell's source, not of its JSON.
fn apply_notebook(old: &str, edit: &NotebookEdit, shown: &str) -> Result<Applied, String> {
    let notebook: Value = serde_json::from_str(old)
        .map_err(|e| format!("{shown} is not a notebook (invalid JSON: {e})"))?;
    let cells = notebook
        .get("cells")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{shown} is not a notebook (no cells)"))?;
    let cell = match &edit.cell_id {
        Some(id) => Some(
            find_cell(cells, id)
                .ok_or_else(|| format!("that edit will fail: there is no cell {id} in {shown}"))?,
        ),
        None => None,
    };
    let source = |cell: &Value| match cell.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    };
    let named = |what: &str| match &edit.cell_id {
        Some(id) => format!("{shown} ({what} cell {id})"),
        None => format!("{shown} ({what} cell at the start)"),
    };
    let (before, after, label) = match (edit.mode.as_str(), cell) {
        ("insert", _) => (String::new(), edit.new_source.clone(), named("after")),
        ("delete", Some(cell)) => (source(cell), String::new(), named("deleting")),
        ("replace", Some(cell)) => (source(cell), edit.new_source.clone(), named("in")),
        ("delete" | "replace", None) => {
            return Err(format!("that edit will fail: no cell_id given for {shown}"));
        }
        (other, _) => return Err(format!("that edit will fail: unknown edit_mode {other}")),
    };
    Ok(Applied {
        before: Some(before),
        after,
        label,
    })
}

/// A cell by its `id`, or by the `cell-N` index form for notebooks
/// without ids.
fn find_cell<'a>(cells: &'a [Value], id: &str) -> Option<&'a Value> {
    cells
        .iter()
        .find(|cell| cell.get("id").and_then(Value::as_str) == Some(id))
        .or_else(|| {
            let index: usize = id.strip_prefix("cell-")?.parse().ok()?;
            cells.get(index)
        })
}
