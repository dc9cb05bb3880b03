package schemas

// Go transform of the msk log type (es-loader's sf_msk.py).

func init() {
	RegisterTransform("msk", transformMSK)
}

var reMSKCluster = mustPy("msk_cluster", `/([\w-]+)-(\w{8}-\w{4}-\w{4}-\w{4}-\w{12}-\w{1})/.*/Broker-(\d+)_`)

var reMSKConsumerLag = mustPy("msk_lag", `^ConsumerLag for groupId=([\w.-]+) topic=([\w.-]+) : SumLag=(\d+) MaxLag=(\d+) TimeLag=(\d+)`)

// transformMSK: cluster name and broker id from the key; consumer lag
// records; msk_* fields under msk.
func transformMSK(tc *TransformContext) error {
	d := tc.Doc
	root := d.Root()
	if m := reMSKCluster.FindStringSubmatch(strOr(d, root, "@log_s3key")); m != nil {
		d.SetString(root, "msk_cluster_name", m[1])
		d.SetString(root, "msk_broker_id", m[3])
	}
	msg, ok := str(d, root, "msk_message")
	if !ok {
		return stop("msk_message missing")
	}
	if m := reMSKConsumerLag.FindStringSubmatch(msg); m != nil {
		d.SetString(root, "msk_log_type", "ConsumerLag")
		for i, k := range []string{"msk_group_id", "msk_topic", "msk_sum_lag", "msk_max_lag", "msk_time_lag"} {
			d.SetString(root, k, m[i+1])
		}
	}
	return underscoreToDots(d, "msk")
}
