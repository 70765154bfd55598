//! OpenVEX documents: statements that a vulnerability does (not) affect a product.

use super::{from_json, Document, Format, ParseError, VexStatement};
use serde::Deserialize;

#[derive(Deserialize)]
struct OpenVex {
    #[serde(default)]
    statements: Vec<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    vulnerability: VulnRef,
    #[serde(default)]
    products: Option<Vec<Product>>,
    status: String,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum VulnRef {
    Object {
        #[serde(default)]
        name: Option<String>,
        #[serde(rename = "@id", default)]
        id: Option<String>,
    },
    Plain(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Product {
    Object {
        #[serde(rename = "@id")]
        id: String,
    },
    Plain(String),
}

pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let doc: OpenVex = from_json(bytes, "OpenVEX")?;
    let mut statements = Vec::new();
    for (i, s) in doc.statements.into_iter().enumerate() {
        let vuln_id = match s.vulnerability {
            VulnRef::Object { name, id } => name.or(id),
            VulnRef::Plain(id) => Some(id),
        }
        .ok_or_else(|| {
            ParseError::at(
                format!("statements[{i}].vulnerability"),
                "a statement needs a vulnerability name",
            )
        })?;
        if !matches!(
            s.status.as_str(),
            "not_affected" | "affected" | "fixed" | "under_investigation"
        ) {
            return Err(ParseError::at(
                format!("statements[{i}].status"),
                format!("unknown status '{}'", s.status),
            ));
        }
        let products: Vec<Option<String>> = match s.products {
            Some(p) if !p.is_empty() => p
                .into_iter()
                .map(|p| {
                    Some(match p {
                        Product::Object { id } | Product::Plain(id) => id,
                    })
                })
                .collect(),
            _ => vec![None],
        };
        for product in products {
            statements.push(VexStatement {
                vuln_id: vuln_id.clone(),
                product,
                status: s.status.clone(),
                justification: s.justification.clone(),
            });
        }
    }
    Ok(Document::Vex {
        format: Format::OpenVex,
        statements,
    })
}
