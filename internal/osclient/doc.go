// Package osclient builds the one HTTP client every OpenSearch call of
// siemstream goes through: the bulk sink, index templates and ISM, index
// block lookups, health checks, dead letters and replay.
//
// It consumes a Config (node URLs, authentication, TLS, compression) and
// produces an *opensearch.Client whose transport
//
//   - authenticates with nothing, HTTP basic auth, or AWS Signature Version 4
//     (Amazon OpenSearch Service domains, service "es", and OpenSearch
//     Serverless collections, service "aoss"), with credentials from the AWS
//     SDK default chain, refreshed before they expire;
//   - compresses request bodies with gzip (signed after compressing) and,
//     like es-loader, falls back to uncompressed bodies for the rest of the
//     process when a cluster refuses a signed gzip body;
//   - verifies TLS against the system roots plus an optional private CA;
//   - never lets a secret (password, secret key, session token,
//     Authorization header) reach an error or a log line: error responses are
//     scrubbed before any caller reads them.
//
// Config keys map one to one to the --opensearch-* flags (see
// cmd/siemstream/opensearch_flags.go); Resolve applies the defaulting rules
// (auth, signing service and region from the endpoint host).
package osclient
