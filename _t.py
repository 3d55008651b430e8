import time
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run(); t=time.time()
at.switch_page("pages/latent_explorer.py").run()
print("first run", time.time()-t)
print("EXC", at.exception)
print([e.value for e in at.error], [w.value for w in at.warning], [i.value for i in at.info])
print(len(at.slider), [s.label for s in at.slider][:4])
imgs = at.get("imgs")
print(len(imgs))
s = at.slider[0]; print(s.key, s.value)
before=[i.proto.imgs[0].url for i in at.get("imgs")]
t=time.time(); s.set_value(2.5).run(); print("slider run", time.time()-t)
after=[i.proto.imgs[0].url for i in at.get("imgs")]
print(before[:4]); print(after[:4])
for src in ["Test image of a digit","Draw","Upload","Prior sample"]:
    at.radio(key="latent_source").set_value(src).run()
    print(src, at.exception, [e.value for e in at.error], [i.value for i in at.info], [w.value for w in at.warning])
