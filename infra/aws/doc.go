// Package aws holds the AWS deployment of the producer and consumer fleets:
// the CloudFormation template siemstream.yaml and its tests. The tests parse
// the template and check least privilege, that every AWS action the code calls
// is granted to the fleet that calls it, and the parts moto cannot create;
// TestDeployMoto deploys it into the local moto server. No Go code ships here.
// Runbook: docs/operations.md.
package aws
