import json,sys
cases = open('python-json-errors.cases', encoding='utf-8').read().split('\n')[:-1]
cases += ['{"a":"b\x01c"}', '{"a":"b\tc"}', '{\n"a":\n1\n', '{"a":"\x1f', '{"a"\x01:1}', '{"a":"\\\x01"}', '\ufeff{"a":1}', ' \t\r\n{"a":1} \n', '{"a":"\x00"}', '{"a":1,\n"b":"\\x",\n"c":2', '{"a":"\\x\x01"}', '{"a":"\x01\\x"}', '\x0c{"a":1}', '{"a":"x"}\x0c']
out=[]
for c in cases:
    try:
        json.loads(c); r = 'OK'
    except json.JSONDecodeError as e:
        r = str(e)
    except Exception as e:
        r = 'EXC ' + type(e).__name__ + ' ' + str(e)
    out.append([c, r])
json.dump(out, sys.stdout, ensure_ascii=False, indent=0)
