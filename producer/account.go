package producer

import "github.com/siemstream/siemstream/producer/notify"

// accountOf is the AWS account an object is read from, for logs: the
// account of the role its bucket is read through (an S3 client with an
// Account(bucket) method, such as internal/s3access.Router), else the
// account its notification names, else "".
func (p *Producer) accountOf(o notify.Object) string {
	if a, ok := p.s3.(interface{ Account(bucket string) string }); ok {
		if acct := a.Account(o.Bucket); acct != "" {
			return acct
		}
	}
	return o.Account
}
