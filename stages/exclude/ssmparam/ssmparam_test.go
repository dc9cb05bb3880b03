package ssmparam

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/siemstream/siemstream/stages/exclude"
)

type fakeSSM struct {
	pages [][]types.Parameter
	calls []ssm.GetParametersByPathInput
	err   error
}

func (f *fakeSSM) GetParametersByPath(_ context.Context, in *ssm.GetParametersByPathInput, _ ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error) {
	f.calls = append(f.calls, *in)
	if f.err != nil {
		return nil, f.err
	}
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &ssm.GetParametersByPathOutput{Parameters: f.pages[i]}
	if i+1 < len(f.pages) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

func TestParameters(t *testing.T) {
	f := &fakeSSM{pages: [][]types.Parameter{
		{{Name: aws.String("/siem/exclude-logs/cloudtrail/a"), Value: aws.String(`{"action":"COUNT","expression":"x"}`)}},
		{{Name: aws.String("/siem/exclude-logs/vpcflowlogs/b"), Value: aws.String(`{}`)}},
	}}
	got, err := New(f, "").Parameters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []exclude.Parameter{{Name: "cloudtrail/a", Value: `{"action":"COUNT","expression":"x"}`}, {Name: "vpcflowlogs/b", Value: `{}`}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v", got)
	}
	if len(f.calls) != 2 || aws.ToString(f.calls[0].Path) != "/siem/exclude-logs/" || !aws.ToBool(f.calls[0].Recursive) || aws.ToBool(f.calls[0].WithDecryption) {
		t.Fatalf("calls %+v", f.calls)
	}
	f.err = errors.New("throttled")
	if _, err := New(f, "/custom").Parameters(context.Background()); err == nil {
		t.Fatal("error lost")
	}
}
