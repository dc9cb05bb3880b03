# Runs es-loader's IoC DB builder (source/lambda/ioc_database/lambda_function.py)
# on a local IOC/ directory, with S3 stubbed, to make an ioc.db for esl_ref.py.
import datetime, os, sys, types, importlib.util
src, root, out = sys.argv[1], sys.argv[2], sys.argv[3]
for m in ('aioboto3', 'aiohttp'):
    sys.modules[m] = types.ModuleType(m)
os.environ['GEOIP_BUCKET'] = 'stub'
os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')
spec = importlib.util.spec_from_file_location('iocdb', src)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
mod.DB_FILE_LOCAL = out
mod.LOCAL_TMP_FILE = out + '.tmp'
def list_keys(prefix, max_obj_count=5000):
    res = []
    base = os.path.join(root, prefix)
    for d, _, files in os.walk(base):
        for f in files:
            p = os.path.join(d, f)
            key = os.path.relpath(p, root).replace(os.sep, '/')
            st = os.stat(p)
            res.append({'Key': key, 'Size': st.st_size,
                        'LastModified': datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc)})
    if not res:
        return None
    return sorted(res, key=lambda x: x['LastModified'], reverse=True)[:max_obj_count]
def get_file(key, local_file=mod.LOCAL_TMP_FILE):
    import shutil
    shutil.copy(os.path.join(root, key), local_file)
    return True
mod._list_s3keys = list_keys
mod._get_file_from_s3 = get_file
if os.path.exists(out):
    os.remove(out)
conn, cur = mod._initialize_db()
cur, n1 = mod.createdb_custom_txt(conn, cur)
cur, n2 = mod.createdb_custom_stix2(conn, cur)
cur.execute("CREATE INDEX idx_domain ON domain(domain)")
cur.execute("CREATE INDEX idx_nw_start ON ipaddress(network_start)")
conn.commit(); conn.close()
print('txt', n1, 'stix2', n2, file=sys.stderr)
