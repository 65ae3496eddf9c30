"""Times `_id` look-ups in one collection of N documents (~450 bytes, string ids) on a running
FerretDB or MongoDB: find_one, replace_one, delete_one + insert_one, and a one-id `$in`.

Usage: python3 tools/ferretdb/measure_id_lookups.py PORT N   (needs `pip install pymongo`)
Writes a collection `t` in database `m`. docs/adr/0008-ferretdb-id-lookups-use-the-index.md.
"""
import pymongo, time, sys, statistics, uuid
port=int(sys.argv[1]); n=int(sys.argv[2])
c=pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", directConnection=True)
db=c["m"]; col=db["t"]
col.drop()
ids=[str(uuid.uuid4()) for _ in range(n)]
pad="x"*400
for i in range(0,n,1000):
    col.insert_many([{"_id":x,"clinic_id":"main","pad":pad} for x in ids[i:i+1000]])
def t(f, k=20):
    ts=[]
    for j in range(k):
        s=time.perf_counter(); f(ids[(j*7919)%n]); ts.append((time.perf_counter()-s)*1000)
    return statistics.median(ts)
print(f"n={n} find_one(_id) {t(lambda x: col.find_one({'_id':x})):.2f} ms")
print(f"n={n} replace_one(_id) {t(lambda x: col.replace_one({'_id':x},{'clinic_id':'main','pad':pad})):.2f} ms")
print(f"n={n} delete+insert(_id) {t(lambda x: (col.delete_one({'_id':x}), col.insert_one({'_id':x,'pad':pad}))):.2f} ms")
print(f"n={n} find_one(_id $in) {t(lambda x: col.find_one({'_id':{'$in':[x]}}),3):.2f} ms")
