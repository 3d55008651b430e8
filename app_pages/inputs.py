"""Choosing an input image for the latent explorer: a test digit, a drawing, an upload or a
prior sample (widgets only; decoding and checks live in explorer/)."""

import hashlib

import numpy as np
import streamlit as st

from app_pages import links
from app_pages.common import keep
from explorer import imaging, latent

SOURCES = ("Random test image", "Test image of a digit", "Draw", "Upload", "Prior sample")


def choose_input(test, latent_dim: int, beside=None
                 ) -> tuple[np.ndarray | None, str, np.ndarray | None]:
    """(image uint8 (28, 28) or None, an id of the input, a prior code or None). `beside`:
    where the random image's button goes (a column beside the choice, on a projector),
    else under the choice."""
    source = st.radio("Start from", SOURCES, horizontal=True, key="latent_source", **keep())
    image, input_id, z_start = None, "origin", None
    if source != "Random test image":
        links.put(latent_random=None)
    if source in SOURCES[:2] and test is None:
        st.info("This input needs the MNIST test set; pick Draw, Upload or Prior sample.")
    elif source == "Random test image":
        arrived, _ = links.consume("latent_random", int)
        if arrived is not None and 0 <= arrived < len(test[0]):
            st.session_state.latent_random_index = arrived
        if (beside or st).button("Another random test image", key="latent_new_random") \
                or "latent_random_index" not in st.session_state:
            st.session_state.latent_random_index = int(np.random.default_rng().integers(len(test[0])))
        index = st.session_state.latent_random_index
        links.put(latent_random=index)
        image, input_id = test[0][index, 0].numpy(), f"random-{index}"
    elif source == "Test image of a digit":
        left, right = st.columns(2)
        digit = left.selectbox("Digit", list(range(10)), key="latent_digit", **keep())
        candidates = np.flatnonzero(test[1].numpy() == digit)
        which = right.number_input(f"Which {digit} (of {len(candidates)})", 0, len(candidates) - 1,
                                   key="latent_digit_index", **keep())
        image = test[0][int(candidates[int(which)]), 0].numpy()
    elif source == "Draw":
        from streamlit_drawable_canvas import st_canvas
        drawn = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                          height=224, width=224, drawing_mode="freedraw", return_image_data=True,
                          key="latent_canvas")
        try:
            image = imaging.canvas_to_mnist(drawn.image_data)
        except imaging.ImageInputError as exc:
            st.info(str(exc))
    elif source == "Upload":
        upload = st.file_uploader("An image of a digit (any size or colour, at most 10 MB)",
                                  key="latent_upload")
        if upload is not None:
            try:
                preview, image = imaging.upload_to_mnist(upload.getvalue())
                left, right = st.columns(2)
                left.image(imaging.png_bytes(preview, scale=1), caption="your image (grey)",
                           width=160, output_format="PNG")
                right.image(imaging.png_bytes(image, scale=6), caption="what the model sees: "
                            "28x28, digit fitted to 20x20 and centred like MNIST", width=160,
                            output_format="PNG")
            except imaging.ImageInputError as exc:
                st.error(str(exc))
    else:
        seed = st.number_input("Seed", 0, 10**6, 0, key="latent_prior_seed", **keep())
        z_start, input_id = latent.prior_code(latent_dim, int(seed)), f"prior-{seed}"
    if image is not None:
        input_id = hashlib.md5(image.tobytes()).hexdigest()
    return image, input_id, z_start
