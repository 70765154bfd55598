//! Dynamically built queries: WHERE clauses with their bound parameters, numbered as
//! they are added, shared by every list that filters on request values.

/// A bound parameter of a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
}

/// WHERE clauses and their parameters, numbered as they are added.
#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Filter {
    pub(crate) fn param(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    pub(crate) fn push(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    pub(crate) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// Binds every argument to a query, in order (`Arg` must be in scope).
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut q = $query;
        for arg in $args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Appends `(v1, v2, …)`, binding each value: an `IN` list numbered by the builder
/// (`$n` on Postgres, `?` on SQLite).
pub(crate) fn push_list<'a, DB, T>(
    qb: &mut sqlx::QueryBuilder<'a, DB>,
    values: impl IntoIterator<Item = T>,
) where
    DB: sqlx::Database,
    T: 'a + sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    qb.push("(");
    let mut list = qb.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    qb.push(")");
}

/// Ids per `IN (...)` list: few round trips, well under both backends' limits on bound
/// parameters (SQLite 32766, Postgres 65535). Multi-row INSERTs follow
/// [`crate::db::Db::batch_params`].
pub(crate) const IDS_PER_LIST: usize = 500;
