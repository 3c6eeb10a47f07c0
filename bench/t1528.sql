-- The T1528 hunt (rules/entra/service_principal_token_ip_mismatch.yml) as
-- DuckDB SQL, for the benchmark. bench/duckdb_hunt.py substitutes
-- :files (a list of NDJSON files), :now (the hunt's now(), a TIMESTAMP_NS
-- literal) and :out (the alert file), then runs it.
--
-- The same semantics as the rule, the engine and the datagen reference hunt:
-- * every input file is read once, as sigcorr does, with explicit column
--   types (only the columns the hunt reads, plus `Type`); records are routed
--   to a table by their `Type` field, not by file name;
-- * an absent or null string is '' (Kusto strings are never null): coalesce;
-- * TimeGenerated keeps its 7 fractional digits: it is compared as a
--   TIMESTAMP_NS (100 ns ticks fit exactly; DuckDB's TIMESTAMP would cut to
--   microseconds) and output as the input text; `> now - 30d` is strict;
--   a missing or unparsable time fails the filter (null);
-- * ResponseStatusCode between 100 and 300, inclusive;
-- * the sign-in IP must be non-empty (the rule's one change to the seed hunt);
-- * an inner join on SignInActivityId == UniqueTokenIdentifier, exact and
--   case-sensitive, never on an empty or missing key; one row per matching
--   pair (duplicate sign-in deliveries multiply rows);
-- * alert when the two IP strings differ (plain text comparison).
COPY (
    WITH records AS MATERIALIZED (
        SELECT *
        FROM read_ndjson(
            :files,
            columns = {
                'Type': 'VARCHAR',
                'TimeGenerated': 'VARCHAR',
                'ResponseStatusCode': 'BIGINT',
                'SignInActivityId': 'VARCHAR',
                'IPAddress': 'VARCHAR',
                'ServicePrincipalId': 'VARCHAR',
                'RequestUri': 'VARCHAR',
                'RequestMethod': 'VARCHAR',
                'UniqueTokenIdentifier': 'VARCHAR',
                'ServicePrincipalName': 'VARCHAR',
                'ServicePrincipalCredentialKeyId': 'VARCHAR'
            }
        )
    ),
    activity AS (
        SELECT
            coalesce(TimeGenerated, '') AS TimeGenerated,
            SignInActivityId,
            coalesce(IPAddress, '') AS IPAddress,
            coalesce(ServicePrincipalId, '') AS ServicePrincipalId,
            coalesce(RequestUri, '') AS RequestUri,
            coalesce(RequestMethod, '') AS RequestMethod
        FROM records
        WHERE Type = 'MicrosoftGraphActivityLogs'
          AND TRY_CAST(TimeGenerated AS TIMESTAMP_NS) > :now - INTERVAL 30 DAY
          AND ResponseStatusCode BETWEEN 100 AND 300
          AND coalesce(SignInActivityId, '') <> ''
    ),
    signin AS (
        SELECT
            UniqueTokenIdentifier,
            IPAddress,
            coalesce(ServicePrincipalName, '') AS ServicePrincipalName,
            coalesce(ServicePrincipalCredentialKeyId, '') AS ServicePrincipalCredentialKeyId
        FROM records
        WHERE Type IN ('AADServicePrincipalSignInLogs', 'AADManagedIdentitySignInLogs')
          AND coalesce(IPAddress, '') <> ''
          AND coalesce(UniqueTokenIdentifier, '') <> ''
    )
    SELECT
        a.TimeGenerated AS TimeGenerated,
        s.ServicePrincipalName AS ServicePrincipalName,
        s.IPAddress AS SigninInIPAddress,
        a.IPAddress AS ActivityIPAddress,
        a.ServicePrincipalId AS ServicePrincipalId,
        s.ServicePrincipalCredentialKeyId AS ServicePrincipalCredentialKeyId,
        a.RequestUri AS RequestUri,
        a.RequestMethod AS RequestMethod
    FROM activity AS a
    JOIN signin AS s ON a.SignInActivityId = s.UniqueTokenIdentifier
    WHERE s.IPAddress <> a.IPAddress
) TO :out (FORMAT json);
