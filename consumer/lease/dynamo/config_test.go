package dynamo

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.StreamName = "s"
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults + stream: %v", err)
	}
	if got := ok.takerInterval(); got != 20050*time.Millisecond {
		t.Errorf("derived taker interval = %s, want 20.05s", got)
	}
	if got := ok.renewInterval(); got != 3308333333*time.Nanosecond {
		t.Errorf("renew interval = %s, want 3.308s", got)
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no stream", func(c *Config) { c.StreamName = "" }, "streamName"},
		{"bad table name", func(c *Config) { c.ApplicationName = "a b" }, "lease table name"},
		{"short table name", func(c *Config) { c.TableName = "ab" }, "lease table name"},
		{"no app", func(c *Config) { c.ApplicationName = "" }, "applicationName"},
		{"bad position", func(c *Config) { c.InitialPositionInStream = "OLDEST" }, "initialPositionInStream"},
		{"timestamp missing", func(c *Config) { c.InitialPositionInStream = AtTimestamp }, "timestamp"},
		{"at-timestamp timeout", func(c *Config) { c.AtTimestampTimeoutMillis = 0 }, "atTimestampTimeoutMillis"},
		{"kinesis call timeout", func(c *Config) { c.KinesisCallTimeoutMillis = 50 }, "kinesisCallTimeoutMillis"},
		{"failover too short for epsilon", func(c *Config) { c.FailoverTimeMillis = 300; c.EpsilonMillis = 60 }, "renew interval"},
		{"maxRecords", func(c *Config) { c.MaxRecords = 10001 }, "maxRecords"},
		{"taker", func(c *Config) { c.LeaseTakerIntervalMillis = 10 }, "leaseTakerIntervalMillis"},
		{"steal", func(c *Config) { c.MaxLeasesToStealAtOneTime = -1 }, "maxLeasesToStealAtOneTime"},
		{"filter", func(c *Config) { c.ShardFilter = []string{""} }, "shardFilter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error about %s", err, tc.want)
			}
		})
	}
}
