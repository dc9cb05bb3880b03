package schemas

// Go transform of the rds-mysql-general log type (es-loader's
// sf_rds_mysql_general.py).

func init() {
	RegisterTransform("rds_mysql_general", transformMySQLGeneral)
}

func transformMySQLGeneral(tc *TransformContext) error {
	if _, err := setRDSIdentifiers(tc.Doc); err != nil {
		return err
	}
	return underscoreToDots(tc.Doc, "mysql")
}
