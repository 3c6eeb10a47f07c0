//! Sigma detection rules (specification v2.1), read unmodified and lowered
//! onto the same machinery as sigcorr's own rules.
//!
//! 1. **load** ([`load`]): each YAML document of a rule file; one with
//!    `logsource` and `detection` is a Sigma rule ([`load::SigmaRule`]).
//! 2. **condition** ([`condition`]): the `condition` text, parsed with pest.
//! 3. **value** ([`value`]): modifiers, wildcards and value transforms.
//! 4. **logsource** ([`logsource`]): `logsource` to tables, and per-table
//!    field aliases, from the mapping files under `tables/`.
//! 5. **lower** ([`lower`]): the detection as a filter expression over a
//!    single source, in a [`crate::rule::RuleDoc`] that `check` takes as it
//!    takes any rule.
//! 6. **correlation** ([`correlation`]): a correlation document (`correlation:
//!    {type, rules, group-by, timespan, condition}`), run over the alerts of
//!    the rules it references by [`crate::correlate`].

pub mod condition;
pub mod correlation;
pub mod load;
pub mod logsource;
pub mod lower;
pub mod meta;
pub mod value;

use std::collections::HashMap;

/// Values for `expand` placeholders (`%name%`): name to values.
#[derive(Debug, Clone, Default)]
pub struct Placeholders(pub HashMap<String, Vec<String>>);

impl Placeholders {
    /// Reads a placeholders file: a YAML mapping of name to a value or a
    /// list of values (`admin_users: [alice@contoso.com, bob@contoso.com]`).
    /// Later files given to [`Placeholders::extend`] win.
    pub fn parse(
        file: &std::sync::Arc<crate::span::SourceFile>,
    ) -> Result<Placeholders, crate::diagnostic::Diagnostic> {
        use crate::diagnostic::{Code, Diagnostic};
        use crate::yaml::NodeKind;
        let root = crate::yaml::parse(file)?;
        let bad = |span, message: String| {
            Diagnostic::new(Code::Placeholder, message)
                .at(file, span)
                .help("a placeholders file maps each name to a value or a list of values: `name: [a, b]`")
        };
        let entries = match &root.kind {
            NodeKind::Map(m) => m,
            NodeKind::Null => return Ok(Placeholders::default()),
            _ => {
                return Err(bad(
                    root.span,
                    format!("a placeholders file must be a mapping, found {}", root.type_name()),
                ));
            }
        };
        let mut out = HashMap::new();
        for (k, v) in entries {
            let name = k.scalar_text().ok_or_else(|| bad(k.span, "a placeholder name must be a string".into()))?;
            let values = match &v.kind {
                NodeKind::Seq(items) => items
                    .iter()
                    .map(|i| i.scalar_text().ok_or_else(|| bad(i.span, format!("a value of `{name}` is not a scalar"))))
                    .collect::<Result<Vec<_>, _>>()?,
                _ => {
                    vec![v.scalar_text().ok_or_else(|| bad(v.span, format!("the value of `{name}` is not a scalar")))?]
                }
            };
            out.insert(name, values);
        }
        Ok(Placeholders(out))
    }

    /// Adds another file's values; its names replace these.
    pub fn extend(&mut self, other: Placeholders) {
        self.0.extend(other.0);
    }
}
