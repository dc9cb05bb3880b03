// Package ssmparam loads es-loader's exclusion conditions from AWS Systems
// Manager Parameter Store with GetParametersByPath (recursive, all pages).
// It is the exclude.ParamLoader the lead wires for the conditions stage; it
// lives apart from package exclude so the stage itself imports no AWS SDK.
package ssmparam

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/siemstream/siemstream/stages/exclude"
)

// Loader reads every parameter under a path prefix.
type Loader struct {
	client ssm.GetParametersByPathAPIClient
	prefix string
}

// New makes a loader for prefix ("" means exclude.DefaultSSMPrefix,
// "/siem/exclude-logs/"). client is an *ssm.Client.
func New(client ssm.GetParametersByPathAPIClient, prefix string) *Loader {
	if prefix == "" {
		prefix = exclude.DefaultSSMPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Loader{client: client, prefix: prefix}
}

// Parameters implements exclude.ParamLoader: names are returned relative to
// the prefix ("<log_type>/<name>"). SecureString values are not decrypted,
// as in es-loader.
func (l *Loader) Parameters(ctx context.Context) ([]exclude.Parameter, error) {
	var out []exclude.Parameter
	p := ssm.NewGetParametersByPathPaginator(l.client, &ssm.GetParametersByPathInput{
		Path:           aws.String(l.prefix),
		Recursive:      aws.Bool(true),
		WithDecryption: aws.Bool(false),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ssm get-parameters-by-path %s: %w", l.prefix, err)
		}
		for _, prm := range page.Parameters {
			out = append(out, exclude.Parameter{
				Name:  strings.TrimPrefix(aws.ToString(prm.Name), l.prefix),
				Value: aws.ToString(prm.Value),
			})
		}
	}
	return out, nil
}
