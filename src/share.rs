//! Who a layer version is shared with (`publish-layer --share-with`): a leaf type that the CLI
//! parses and the layer code turns into policy statements.

/// Who `--share-with` grants `lambda:GetLayerVersion` to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharePrincipal {
    /// One AWS account, by its 12-digit id.
    Account(String),
    /// Every AWS account (`*`).
    Everyone,
    /// Every account of an AWS organization (`o-` followed by 10 to 32 letters or digits).
    Organization(String),
}

impl SharePrincipal {
    /// Parses `--share-with`'s value: an account id, `*`, or an organization id.
    pub fn parse(value: &str) -> Result<SharePrincipal, String> {
        if value == "*" {
            return Ok(SharePrincipal::Everyone);
        }
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(SharePrincipal::Account(value.to_string()));
        }
        if let Some(rest) = value.strip_prefix("o-") {
            if (10..=32).contains(&rest.len())
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            {
                return Ok(SharePrincipal::Organization(value.to_string()));
            }
        }
        Err(
            "expected a 12-digit AWS account id, `*` for every account, or an organization id \
             like o-a1b2c3d4e5"
                .to_string(),
        )
    }

    /// The statement id in the layer version policy: the same principal always gets the same id,
    /// which is how a second run recognises its own grant.
    pub fn statement_id(&self) -> String {
        match self {
            SharePrincipal::Account(id) => format!("lambda-rt-account-{id}"),
            SharePrincipal::Everyone => "lambda-rt-everyone".to_string(),
            SharePrincipal::Organization(id) => format!("lambda-rt-organization-{id}"),
        }
    }
}

impl std::fmt::Display for SharePrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SharePrincipal::Account(id) | SharePrincipal::Organization(id) => f.write_str(id),
            SharePrincipal::Everyone => f.write_str("*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_principals_are_parsed_strictly() {
        assert_eq!(
            SharePrincipal::parse("111122223333"),
            Ok(SharePrincipal::Account("111122223333".into()))
        );
        assert_eq!(SharePrincipal::parse("*"), Ok(SharePrincipal::Everyone));
        assert_eq!(
            SharePrincipal::parse("o-a1b2c3d4e5"),
            Ok(SharePrincipal::Organization("o-a1b2c3d4e5".into()))
        );
        for bad in [
            "11112222333",
            "1111222233334",
            "o-short",
            "o-UPPERCASE123",
            "arn:x",
            "",
        ] {
            assert!(SharePrincipal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statement_ids_are_deterministic_and_valid() {
        for principal in [
            SharePrincipal::Account("111122223333".into()),
            SharePrincipal::Everyone,
            SharePrincipal::Organization("o-a1b2c3d4e5".into()),
        ] {
            let id = principal.statement_id();
            assert_eq!(id, principal.statement_id());
            assert!(id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
