"""Upload bytes for the tests and the benchmarks: MNIST arrays as PNG (8- and 16-bit), any format, phone photos (JPEG, HEIC)."""

import io

import numpy as np
from PIL import Image


def png(array_u8: np.ndarray, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array_u8, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def drawn_one() -> bytes:
    """A 28x28 PNG of a "1": one upright white stroke on black, read as 1 on every path."""
    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:15] = 255
    return png(digit)


def png16(array01: np.ndarray) -> bytes:
    """A 16-bit grayscale PNG: keeps float inputs such as averaged overlap pairs nearly exact."""
    buf = io.BytesIO()
    Image.fromarray(np.round(array01 * 65535).astype(np.uint16)).save(buf, format="PNG")
    return buf.getvalue()


def encode(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def phone_photo(digit: np.ndarray, size: tuple[int, int] = (4032, 3024), share: float = 0.45,
                at: tuple[float, float] = (0.5, 0.5)) -> Image.Image:
    """A 28x28 MNIST digit (white on black; or a row of them, 28 x 28k) written dark on grainy paper and
    photographed slightly out of focus, at a phone camera's size (12 MP by default), as an RGB image; the digit's box is
    `share` of the photo's height, centred at `at` (shares of the width and height)."""
    from PIL import ImageFilter

    width, height = size
    side = int(share * height)
    wide = side * digit.shape[1] // digit.shape[0]  # a row of digits side by side keeps its aspect
    ink = Image.fromarray(digit).resize((wide, side), Image.BICUBIC)
    photo = Image.new("L", size, 200)
    photo.paste(Image.new("L", ink.size, 40), (int(at[0] * width - wide / 2), int(at[1] * height - side / 2)), ink)
    blurred = np.asarray(photo.filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    grain = np.random.default_rng(0).normal(0, 4, (height, width)).astype(np.float32)  # sensor noise: ~2.7 MB, as a phone's
    return Image.fromarray(np.clip(blurred + grain, 0, 255).astype(np.uint8)).convert("RGB")


def phone_jpeg(digit: np.ndarray, size: tuple[int, int] = (4032, 3024), **photo) -> bytes:
    """`phone_photo` as the ~12 MP JPEG (2-3 MB) an Android phone uploads."""
    return encode(phone_photo(digit, size, **photo), "JPEG", quality=92)


def pencil_photo(digit: np.ndarray, contrast: float, seed: int = 0, size: int = 300, noise: float = 3.0) -> bytes:
    """A 28x28 MNIST digit written faintly (a pencil's grey, `contrast` of the paper's level darker at its
    darkest) on near-white paper, 0.2-0.65 of the photo's side tall at a random place, with sensor noise
    (`noise` grey levels, sigma); a JPEG."""
    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(digit > 30)
    crop = Image.fromarray(digit[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
    height = int(size * rng.uniform(0.2, 0.65))
    ink = crop.resize((max(1, crop.width * height // crop.height), height), Image.LANCZOS)
    canvas = Image.new("L", (size, size), 0)
    canvas.paste(ink, (int(rng.integers(0, size - ink.width + 1)), int(rng.integers(0, size - height + 1))))
    darkness = np.asarray(canvas, np.float32) / 255 * contrast
    paper = 245 * (1 - darkness) + rng.normal(0, noise, darkness.shape)
    return encode(Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)), "JPEG", quality=90)


def heic(img: Image.Image, **kwargs) -> bytes:
    """An image as HEIC, the format an iPhone saves its photos in (pillow-heif's encoder)."""
    from app.ml.preprocess import open_heic

    open_heic()
    return encode(img, "HEIF", **kwargs)


def phone_heic(digit: np.ndarray, size: tuple[int, int] = (1344, 1008)) -> bytes:
    """`phone_photo` as an iPhone's HEIC, stored turned 90 degrees with EXIF orientation 6 (as a phone
    held upright writes it); 1.4 MP by default: encoding a grainy 12 MP one takes ~30 s."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return heic(phone_photo(digit, size).transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes(), quality=80)


def notebook_photo(digit: np.ndarray, paper: str = "ruled", tilt: float = 0.0, seed: int = 0,
                   size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black; or a row of them, 28 x 28k) written in dark pen on a notebook page:
    `paper` "ruled" (light blue lines), "squared" (a light blue grid) or "plain"; the photo turned by
    `tilt` degrees, lit unevenly, with sensor grain."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    page = np.ones((height, width, 3), np.float32) * np.array([0.96, 0.95, 0.92], np.float32)
    spacing, thick = int(rng.integers(50, 90)), int(rng.integers(2, 4))
    start = int(rng.integers(0, spacing))
    line = np.array([0.55, 0.7, 0.92], np.float32)
    if paper in ("ruled", "squared"):
        for y in range(start, height, spacing):
            page[y:y + thick] = line
    if paper == "squared":
        for x in range(start, width, spacing):
            page[:, x:x + thick] = line
    side = int(spacing * rng.uniform(1.4, 2.4))
    wide = side * digit.shape[1] // digit.shape[0]  # a row of digits side by side keeps its aspect
    ink = np.asarray(Image.fromarray(digit).resize((wide, side), Image.BICUBIC), np.float32)[..., None] / 255
    y0, x0 = (height - side) // 2 + int(rng.integers(-60, 60)), (width - wide) // 2 + int(rng.integers(-80, 80))
    region = page[y0:y0 + side, x0:x0 + wide]
    region[:] = region * (1 - ink) + np.array([0.12, 0.12, 0.25], np.float32) * ink
    shade = 0.85 + 0.15 * (1 - np.linspace(0, 1, height, dtype=np.float32))[:, None, None]
    shot = np.clip(page * shade + rng.normal(0, 0.015, page.shape).astype(np.float32), 0, 1)
    img = Image.fromarray((shot * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    if tilt:
        img = img.rotate(tilt, resample=Image.BILINEAR, fillcolor=(232, 230, 222))
    return encode(img, "JPEG", quality=88)


def pen_page_photo(ink: Image.Image, paper: str, rng: np.random.Generator, size: tuple[int, int] = (4032, 3024)) -> bytes:
    """A second page generator beside `notebook_photo`: an 'L' ink mask (white strokes on black, e.g. a
    line drawn with a round pen) written in a dark colour on a page of random tint, `paper` "plain",
    "ruled" or "squared" with gray-blue lines 60-110 px apart and 2-4 px thick, the writing 1.2-2.2
    line spacings tall anywhere in the middle of the page, turned up to 4 degrees, lit from one side,
    grainy, a little out of focus; a JPEG at quality 85."""
    from PIL import ImageDraw, ImageFilter

    width, height = size
    img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(215, 245, 3)))
    d = ImageDraw.Draw(img)
    spacing, thick = int(rng.integers(60, 110)), int(rng.integers(2, 5))
    colour = tuple(int(v) for v in (rng.integers(120, 190), rng.integers(140, 200), rng.integers(170, 230)))
    if paper in ("ruled", "squared"):
        for y in range(int(rng.integers(0, spacing)), height, spacing):
            d.line([(0, y), (width, y)], fill=colour, width=thick)
    if paper == "squared":
        for x in range(int(rng.integers(0, spacing)), width, spacing):
            d.line([(x, 0), (x, height)], fill=colour, width=thick)
    tall = spacing * rng.uniform(1.2, 2.2) / ink.height
    ink = ink.resize((max(1, round(ink.width * tall)), max(1, round(ink.height * tall))), Image.BILINEAR)
    ink = ink.rotate(float(rng.uniform(-4, 4)), expand=True, resample=Image.BILINEAR)
    at = (int(rng.uniform(0.25, 0.6) * width), int(rng.uniform(0.3, 0.7) * height))
    img.paste(Image.new("RGB", ink.size, tuple(int(v) for v in rng.integers(10, 60, 3))), at, ink)
    light = np.linspace(1.0, 0.85, width, dtype=np.float32)[None, :, None]
    shot = np.asarray(img, np.float32) * light + rng.normal(0, 3, (height, width, 1)).astype(np.float32)
    return encode(Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2)),
                  "JPEG", quality=85)



def note_photo(digit: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """`desk_photo` of a sticky note or a small card: it covers 20-50% of each side (4-25% of the photo), the
    digit written up to 80% of its side."""
    return desk_photo(digit, seed, size, cover=(0.2, 0.5), writing=0.8, note=True)


def lamp_photo(digit: np.ndarray, falloff: float, seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black; or a row of them) written in dark ink on paper lit
    from one point, as under a desk lamp or a phone's own light: the light is brightest near the photo's
    centre and falls off towards its corners (cos^4, as a lens's vignetting) by `falloff` (0.3: the
    farthest corner gets 70% of the light). The digit is 20-50% of the height (a row: at most 90% of the
    width), anywhere on the page."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    page = np.ones((height, width, 3), np.float32) * rng.uniform([0.90, 0.88, 0.80], [0.98, 0.97, 0.95]).astype(np.float32)
    side = min(int(height * rng.uniform(0.2, 0.5)), int(0.9 * width * digit.shape[0] / digit.shape[1]))
    wide = side * digit.shape[1] // digit.shape[0]  # a row of digits keeps its aspect, inside the page
    ink = np.asarray(Image.fromarray(digit).resize((wide, side), Image.BICUBIC), np.float32)[..., None] / 255
    y0, x0 = int(rng.uniform(0.05, 0.95) * (height - side)), int(rng.uniform(0.05, 0.95) * (width - wide))
    region = page[y0:y0 + side, x0:x0 + wide]
    region[:] = region * (1 - ink) + rng.uniform(0.05, 0.25, 3).astype(np.float32) * ink
    cy, cx = height * rng.uniform(0.35, 0.65), width * rng.uniform(0.35, 0.65)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot(yy - cy, xx - cx)
    widest = np.arccos((1 - falloff) ** 0.25)  # the angle off the lamp's axis at the farthest corner
    cos4 = np.cos(np.arctan(r / r.max() * np.tan(widest))) ** 4
    shot = np.clip(page * cos4[..., None] + rng.normal(0, 0.012, (height, width, 1)).astype(np.float32), 0, 1)
    img = Image.fromarray((shot * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    return encode(img, "JPEG", quality=int(rng.integers(80, 93)))


MARKERS = [(25, 25, 35), (30, 50, 170), (170, 35, 35), (25, 115, 50)]  # whiteboard markers: black, blue, red, green


def whiteboard_photo(digit: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black) written with a marker (black, blue, red or
    green) on a whiteboard: 20-60% of the height, anywhere; the board's white is blotchy (old marker
    wiped off, uneven light: smooth swells of up to +-10% a few hundred pixels across) and the ceiling
    light glares on it as a bright spot somewhere."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    cells = rng.normal(0, 1, (int(rng.integers(3, 7)), int(rng.integers(4, 9)))).astype(np.float32)
    swell = np.asarray(Image.fromarray(cells, mode="F").resize((width, height), Image.BICUBIC))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    gy, gx, spread = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(0.08, 0.25) * width
    glare = rng.uniform(0.1, 0.25) * np.exp(-((yy - gy) ** 2 + (xx - gx) ** 2) / (2 * spread ** 2))
    board = np.clip(rng.uniform(0.72, 0.85) + 0.05 * swell + glare, 0, 1)[..., None] * np.ones(3, np.float32)
    side = int(height * rng.uniform(0.2, 0.6))
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), np.float32)[..., None] / 255
    y0, x0 = int(rng.uniform(0, height - side)), int(rng.uniform(0, width - side))
    marker = np.array(MARKERS[int(rng.integers(len(MARKERS)))], np.float32) / 255
    region = board[y0:y0 + side, x0:x0 + side]
    region[:] = region * (1 - ink) + marker * ink
    shot = np.clip(board + rng.normal(0, 0.012, (height, width, 1)).astype(np.float32), 0, 1)
    img = Image.fromarray((shot * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    return encode(img, "JPEG", quality=int(rng.integers(80, 93)))


def cropped_photo(digit: np.ndarray, margin: float, seed: int = 0) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black) in dark ink on paper, cropped close to the
    digit as a user crops a photo before sending it: the digit's own box, 150-500 px tall and as wide as
    the digit, with `margin` (a share of that height) of paper on every side; the paper 0.7-0.95 gray,
    the ink 0.05-0.3, grainy and a little out of focus."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    ys, xs = np.nonzero(digit > 30)
    digit = digit[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    height = int(rng.integers(150, 500))
    width = max(4, height * digit.shape[1] // digit.shape[0])
    ink = np.pad(np.asarray(Image.fromarray(digit).resize((width, height), Image.BICUBIC), np.float32) / 255,
                 int(margin * height))
    paper, pen = rng.uniform(0.7, 0.95), rng.uniform(0.05, 0.3)
    shot = np.clip(paper * (1 - ink) + pen * ink + rng.normal(0, 0.02, ink.shape), 0, 1)
    img = Image.fromarray((shot * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))
    return encode(img.convert("RGB"), "JPEG", quality=90)


def form_box_photo(digit: np.ndarray, seed: int = 0) -> bytes:
    """A JPEG of a 28x28 MNIST digit (white on black) written in dark ink in a form's printed box and
    cropped to the box: the frame 1-3 px wide, gray 60-160, 80-95% of the 120-300 px image, the digit
    55-80% of the box; light grain."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    side = int(rng.integers(120, 300))
    img = Image.new("L", (side, side), int(rng.integers(215, 250)))
    bw, bh = int(side * rng.uniform(0.8, 0.95)), int(side * rng.uniform(0.8, 0.95))
    x0, y0 = (side - bw) // 2, (side - bh) // 2
    ImageDraw.Draw(img).rectangle([x0, y0, x0 + bw, y0 + bh], outline=int(rng.integers(60, 160)),
                                  width=int(rng.integers(1, 4)))
    ds = int(min(bw, bh) * rng.uniform(0.55, 0.8))
    mask = Image.new("L", img.size, 0)
    mask.paste(Image.fromarray(digit).resize((ds, ds), Image.BICUBIC),
               ((side - ds) // 2 + int(rng.integers(-5, 6)), (side - ds) // 2 + int(rng.integers(-5, 6))))
    img = Image.composite(Image.new("L", img.size, int(rng.integers(10, 60))), img, mask)
    shot = np.asarray(img, np.float32) + rng.normal(0, 3, (side, side))
    return encode(Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)),
                  "JPEG", quality=90)


def marked_photo(digit: np.ndarray, mark: str, seed: int = 0, size: tuple[int, int] = (1000, 750)) -> bytes:
    """A JPEG of a 28x28 MNIST digit (white on black; or a row of them, 28 x 28k) written in dark ink on
    light paper with a pen `mark` drawn by hand beside it: "underline" (a line under the writing, a
    little longer than it, slightly tilted, clear of it), "circle" (an ellipse around it) or "box" (a
    rectangle around it); the writing 20-45% of the photo's height (a line at most 60% of its width), the
    mark's pen 1/14-1/10 of it;
    light grain, a little out of focus."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    img = Image.new("L", size, int(rng.integers(215, 245)))
    tall = int(min(height * rng.uniform(0.2, 0.45), 0.6 * width * digit.shape[0] / digit.shape[1]))
    wide = tall * digit.shape[1] // digit.shape[0]  # a line of digits at most 60% of the width: its mark fits
    x0, y0 = (width - wide) // 2 + int(rng.integers(-40, 41)), (height - tall) // 2 + int(rng.integers(-30, 31))
    ink = int(rng.integers(15, 60))
    img.paste(Image.new("L", (wide, tall), ink), (x0, y0), Image.fromarray(digit).resize((wide, tall), Image.BICUBIC))
    pen, d = max(3, int(tall * rng.uniform(1 / 14, 1 / 10))), ImageDraw.Draw(img)
    if mark == "underline":
        y, reach = y0 + tall + int(rng.uniform(0.05, 0.2) * tall), int(rng.uniform(0.05, 0.25) * tall)
        d.line([x0 - reach, y, x0 + wide + reach, y + int(rng.integers(-tall // 12, tall // 12 + 1))], fill=ink, width=pen)
    else:
        pad = int(rng.uniform(0.25, 0.45) * tall)
        shape = d.ellipse if mark == "circle" else d.rectangle
        shape([x0 - pad, y0 - pad, x0 + wide + pad, y0 + tall + pad], outline=ink, width=pen)
    shot = np.asarray(img, np.float32) + rng.normal(0, 3, (height, width))
    return encode(Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1)).convert("RGB"),
                  "JPEG", quality=88)


def filling_page_photo(digit: np.ndarray, seed: int = 0) -> bytes:
    """`desk_photo` of a sheet that nearly fills the photo (98-108% of each side, turned up to 8 degrees) on a
    light desk: the desk shows only in thin wedges along the photo's edges."""
    return desk_photo(digit, seed=seed, cover=(0.98, 1.08), desk="light")


def school_page_photo(digit: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a school exercise book's page, the page filling the photo: light blue ruled lines
    30-70 px apart, a red margin line down the page 8-20% from its left edge (or, one time in four, a
    red header line across it 10-20% from the top), and a 28x28 MNIST digit (white on black; or a row of
    them, 28 x 28k) written in dark ink 1.2-2.2 lines tall beside it; turned up to 5 degrees, the light
    falling off down the page, sensor grain."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    big = (int(width * 1.2), int(height * 1.2))  # turned and cropped back: the page fills the photo
    img = Image.new("RGB", big, tuple(int(v) for v in rng.integers(228, 250, 3)))
    d = ImageDraw.Draw(img)
    spacing = int(rng.integers(30, 71))
    for y in range(int(rng.integers(0, spacing)), big[1], spacing):
        blue = (int(rng.integers(130, 190)), int(rng.integers(165, 205)), 235)
        d.line([0, y, big[0], y], fill=blue, width=int(rng.integers(1, 4)))
    red = (int(rng.integers(185, 240)), int(rng.integers(30, 130)), int(rng.integers(40, 130)))
    pen = int(rng.integers(2, 6))
    left, top = (big[0] - width) // 2, (big[1] - height) // 2
    tall = int(spacing * rng.uniform(1.2, 2.2))
    wide = tall * digit.shape[1] // digit.shape[0]
    if rng.random() < 0.75:  # a margin line down the page, the writing right of it
        margin = left + int(rng.uniform(0.08, 0.2) * width)
        d.line([margin, 0, margin, big[1]], fill=red, width=pen)
        x0 = int(rng.integers(margin + 25, max(margin + 26, left + width - wide - 60)))
        y0 = int(rng.integers(top + 60, top + height - tall - 60))
    else:  # a header line across it, the writing below
        header = top + int(rng.uniform(0.1, 0.2) * height)
        d.line([0, header, big[0], header], fill=red, width=pen)
        x0 = int(rng.integers(left + 60, left + width - wide - 60))
        y0 = int(rng.integers(header + 25, max(header + 26, top + height - tall - 60)))
    ink = tuple(int(v) for v in rng.integers(10, 70, 3))
    img.paste(Image.new("RGB", (wide, tall), ink), (x0, y0), Image.fromarray(digit).resize((wide, tall), Image.BICUBIC))
    img = img.rotate(float(rng.uniform(-5, 5)), resample=Image.BILINEAR).crop((left, top, left + width, top + height))
    shade = 0.88 + 0.12 * np.linspace(1, 0, height, dtype=np.float32)[:, None, None]
    shot = np.asarray(img, np.float32) * shade + rng.normal(0, 4, (height, width, 3))
    return encode(Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8)),
                  "JPEG", quality=88)


def app_screenshot(digit: np.ndarray, seed: int = 0, size: tuple[int, int] = (1280, 800)) -> bytes:
    """A PNG screenshot of a drawing app's window with a 28x28 MNIST digit (white on black; or a row of
    them) drawn black on its white canvas: a dark title bar with three window buttons, a gray toolbar
    with 6-14 tool icons, the canvas framed in light gray, the writing 25-50% of the canvas's height
    anywhere on it."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    width, height = size
    img = Image.new("RGB", size, (240, 240, 240))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, width, 30], fill=(50, 50, 60))
    for i, colour in enumerate([(255, 95, 86), (255, 189, 46), (39, 201, 63)]):
        d.ellipse([10 + 22 * i, 8, 24 + 22 * i, 22], fill=colour)
    d.rectangle([0, 30, width, 80], fill=(225, 225, 230))
    for i in range(int(rng.integers(6, 15))):
        x = 12 + 44 * i
        d.rounded_rectangle([x, 40, x + 32, 72], 5, outline=(120, 120, 130), width=2)
        d.line([x + 8, 64, x + 24, 48], fill=(60, 60, 70), width=3)
    left, top, right, bottom = 60, 110, width - 60, height - 40
    d.rectangle([left, top, right, bottom], fill=(255, 255, 255), outline=(180, 180, 180))
    tall = int(rng.uniform(0.25, 0.5) * (bottom - top))
    wide = min(tall * digit.shape[1] // digit.shape[0], right - left - 40)
    x, y = int(rng.integers(left + 10, right - wide - 10)), int(rng.integers(top + 10, bottom - tall - 10))
    img.paste(Image.new("RGB", (wide, tall), (10, 10, 10)), (x, y), Image.fromarray(digit).resize((wide, tall), Image.BICUBIC))
    return encode(img, "PNG")


def digit_lines(images: np.ndarray, labels: np.ndarray, n: int) -> list[tuple[np.ndarray, str]]:
    """n lines of 2-5 consecutive digits of `images` (28x28, white on black; side by side as 28 x 28k)
    and their text: what `marked_photo` and `app_screenshot` take for a number."""
    out, start = [], 0
    for i in range(n):
        idx = range(start, start + 2 + i % 4)
        start = idx.stop
        out.append((np.concatenate([images[j] for j in idx], 1), "".join(str(int(labels[j])) for j in idx)))
    return out


NOTES = [(250, 236, 120), (250, 190, 205), (175, 222, 250), (205, 240, 170)]  # sticky notes: yellow, pink, blue, green


DESKS = {"dark": [(120, 80, 50), (95, 95, 100), (35, 32, 30), (150, 110, 70)],
         "mid": [(160, 160, 165), (180, 168, 140), (150, 140, 125)],  # a grey or beige table, a sheet a little whiter
         "light": [(200, 200, 195), (215, 205, 185), (190, 192, 198)]}  # a light grey or beige desk, a pale table


def desk_photo(digit: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900), cover: tuple[float, float] = (0.55, 1.05),
               writing: float = 0.4, note: bool = False, desk: str = "dark") -> bytes:
    """A phone JPEG of a sheet of paper lying on a darker desk, a 28x28 MNIST digit (white on black; or a row of
    them) written on it in dark ink: the sheet covers `cover` of each side (55-100% by default), turned up to 8
    degrees, off-centre (it may run past the photo's edges), the writing up to `writing` of its shorter side
    tall; the desk (`desk`: "dark", wood, grey or black; "light", pale grey or beige) has grain; the light
    falls from one side. `note`: the sheet is a sticky note (yellow, pink, blue or green paper)."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    colours = DESKS[desk]
    desk_colour = colours[int(rng.integers(len(colours)))]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    grain = 12 * np.sin(yy / height * rng.uniform(30, 90) + 3 * np.sin(xx / width * rng.uniform(2, 6)))
    surface = np.array(desk_colour, np.float32) * rng.uniform(0.8, 1.2) + grain[..., None]
    img = Image.fromarray(np.clip(surface, 0, 255).astype(np.uint8))
    sheet_w, sheet_h = width * rng.uniform(*cover), height * rng.uniform(*cover)
    cx, cy = width * rng.uniform(0.4, 0.6), height * rng.uniform(0.4, 0.6)
    turn = np.deg2rad(rng.uniform(-8, 8))
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    sheet = [(cx + dx * sheet_w / 2 * np.cos(turn) - dy * sheet_h / 2 * np.sin(turn),
              cy + dx * sheet_w / 2 * np.sin(turn) + dy * sheet_h / 2 * np.cos(turn)) for dx, dy in corners]
    paper = NOTES[int(rng.integers(len(NOTES)))] if note else tuple(int(v) for v in rng.integers(225, 252, 3))
    ImageDraw.Draw(img).polygon(sheet, fill=paper)
    side = min(int(writing * min(sheet_w, sheet_h) * rng.uniform(0.6, 1.0)), int(0.6 * sheet_w * digit.shape[0] / digit.shape[1]))
    wide = side * digit.shape[1] // digit.shape[0]
    ink = Image.fromarray(digit).resize((wide, side), Image.BICUBIC)
    ink = ink.rotate(np.rad2deg(-turn), expand=True, resample=Image.BILINEAR)
    at = (int(cx - ink.width / 2 + rng.uniform(-0.1, 0.1) * sheet_w), int(cy - ink.height / 2 + rng.uniform(-0.1, 0.1) * sheet_h))
    img.paste(Image.new("RGB", ink.size, tuple(int(v) for v in rng.integers(10, 60, 3))), at, ink)
    light = np.linspace(1.0, rng.uniform(0.8, 0.95), width, dtype=np.float32)[None, :, None]
    if rng.random() < 0.5:
        light = light[:, ::-1]
    shot = np.asarray(img, np.float32) * light + rng.normal(0, 3, (height, width, 1)).astype(np.float32)
    blurred = Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.4)))
    return encode(blurred, "JPEG", quality=int(rng.integers(80, 93)))


def notebook_desk_photo(digit: np.ndarray, seed: int = 0, paper: str = "ruled", size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a notebook page on a desk, written on as people write on one: a 28x28 MNIST digit (white
    on black; or a row of them) 0.7-1.3 lines tall, standing on a ruled line (`paper` "ruled", light blue
    lines 35-70 px apart; or "plain", the same writing without the lines), so 3-10% of the photo's height. The
    page covers 85-115% of the photo's width (it may fill it, or leave the desk along some edges or all
    round), turned up to 5 degrees; the desk dark, mid grey or beige, or light; the light falls off towards
    one corner by up to 25%; blur, grain."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = size
    cover = rng.uniform(0.85, 1.15)
    pw, ph = int(width * cover), int(height * cover * rng.uniform(0.97, 1.03))
    page = Image.new("RGB", (pw, ph), tuple(int(v) for v in rng.integers(228, 250, 3)))
    spacing = int(rng.integers(35, 71) * cover)
    rules = list(range(int(rng.integers(spacing, 2 * spacing)), ph - spacing, spacing))
    if paper == "ruled":
        colour = (int(rng.integers(130, 190)), int(rng.integers(165, 205)), 235)
        draw = ImageDraw.Draw(page)
        for y in rules:
            draw.line([0, y, pw, y], fill=colour, width=int(rng.integers(1, 4)))
    tall = int(spacing * rng.uniform(0.7, 1.3))
    wide = min(tall * digit.shape[1] // digit.shape[0], int(0.5 * pw))
    base = min(rules, key=lambda y: abs(y - ph * rng.uniform(0.35, 0.65)))  # the line the writing stands on
    x0, y0 = int(rng.uniform(0.15, 0.45) * pw), base - tall + int(rng.integers(-2, 4))
    ink = tuple(int(v) for v in rng.integers(10, 70, 3))
    page.paste(Image.new("RGB", (wide, tall), ink), (x0, y0), Image.fromarray(digit).resize((wide, tall), Image.BICUBIC))
    kind = ("dark", "mid", "light")[int(rng.integers(3))]
    desk = np.array(DESKS[kind][int(rng.integers(len(DESKS[kind])))], np.float32) * rng.uniform(0.9, 1.1)
    shot = Image.fromarray(np.clip(desk + rng.normal(0, 6, (height, width, 1)), 0, 255).astype(np.uint8))
    turned = page.convert("RGBA").rotate(float(rng.uniform(-5, 5)), resample=Image.BILINEAR, expand=True)
    shot.paste(turned, ((width - turned.width) // 2 + int(rng.integers(-width // 20, width // 20 + 1)),
                        (height - turned.height) // 2 + int(rng.integers(-height // 20, height // 20 + 1))), turned)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    corner = rng.uniform(0, 1, 2)
    light = 1 - rng.uniform(0, 0.25) * ((xx / width - corner[0]) ** 2 + (yy / height - corner[1]) ** 2) / 2
    lit = np.asarray(shot, np.float32) * light[..., None] + rng.normal(0, 4, (height, width, 3))
    blurred = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.2)))
    return encode(blurred, "JPEG", quality=int(rng.integers(80, 93)))


PHONE_SCREENS = [(1080, 2340), (1170, 2532), (1080, 1920), (1440, 3200)]
TABLET_SCREENS = [(2048, 1536), (2388, 1668)]
PALETTE = [(0, 0, 0), (220, 50, 50), (50, 110, 220), (60, 170, 80), (245, 190, 20), (140, 70, 190), (120, 120, 120)]


def phone_screenshot(ink: np.ndarray, seed: int = 0, style: str = "bars") -> bytes:
    """A screenshot (PNG, one in four JPEG) of a sketch app on a phone, with a 28x28 MNIST digit (white on
    black; or a row of them) drawn on its canvas, light or dark: a status bar (the time, signal bars, a
    battery), an app bar (a back arrow, a title, 1-3 icons), a toolbar (4-7 round tool buttons or a
    palette of coloured disks) and a navigation bar (a home indicator or three buttons). `style`:
    'bars' (each bar on a colour of its own), 'flat' (the bars in the canvas's colour: only what they
    hold shows, sometimes a thin rule under the app bar), 'floating' (a rounded toolbar floating over the
    canvas) or 'tablet' (a landscape tablet, the tools in a panel down the left side). The writing is
    20-70% of the screen's width tall (a number 30-80% of it wide), anywhere on the canvas."""
    from PIL import ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    screens = TABLET_SCREENS if style == "tablet" else PHONE_SCREENS
    w, h = screens[int(rng.integers(len(screens)))]
    dark = rng.random() < 0.3
    canvas = (28, 28, 30) if dark else (255, 255, 255)
    chrome = canvas if style == "flat" else (44, 44, 48) if dark else tuple(int(v) for v in rng.integers(232, 249, 3))
    fg = (225, 225, 230) if dark else (55, 55, 65)
    img = Image.new("RGB", (w, h), canvas)
    d = ImageDraw.Draw(img)
    unit = min(w, h) / 1080  # a phone's 1080 px width: the bars' sizes in its pixels
    status, bar = round(80 * unit), round(rng.uniform(120, 160) * unit)
    d.rectangle([0, 0, w, status + bar], fill=chrome)
    text = ImageFont.load_default(size=round(36 * unit))
    d.text((50 * unit, 20 * unit), f"{int(rng.integers(1, 13))}:{int(rng.integers(60)):02d}", fill=fg, font=text)
    for i in range(4):  # signal bars, a battery
        x = w - (260 - 14 * i) * unit
        d.rectangle([x, (55 - 9 * (i + 1)) * unit, x + 10 * unit, 55 * unit], fill=fg)
    d.rounded_rectangle([w - 170 * unit, 25 * unit, w - 100 * unit, 55 * unit], round(6 * unit), outline=fg,
                        width=max(2, round(3 * unit)))
    y = status + bar // 2
    d.line([(80 * unit, y - 25 * unit), (50 * unit, y), (80 * unit, y + 25 * unit)], fill=fg, width=max(3, round(5 * unit)))
    d.text((120 * unit, y - 25 * unit), ["Sketch", "Notes", "Untitled", "Drawing 2"][int(rng.integers(4))], fill=fg,
           font=ImageFont.load_default(size=round(48 * unit)))
    for i in range(int(rng.integers(1, 4))):
        x = w - (70 + 100 * i) * unit
        d.ellipse([x - 22 * unit, y - 22 * unit, x + 22 * unit, y + 22 * unit], outline=fg, width=max(3, round(5 * unit)))
    if style == "flat" and rng.random() < 0.5:
        d.line([(0, status + bar), (w, status + bar)], fill=(70, 70, 75) if dark else (205, 205, 210), width=2)
    top, left, bottom = status + bar, 0, h
    if style != "tablet":  # the navigation bar
        nav = round(110 * unit)
        d.rectangle([0, h - nav, w, h], fill=chrome)
        if rng.random() < 0.5:
            d.rounded_rectangle([w * 0.36, h - nav / 2 - 6 * unit, w * 0.64, h - nav / 2 + 6 * unit], round(6 * unit), fill=fg)
        else:
            for i, x in enumerate((0.25 * w, 0.5 * w, 0.75 * w)):
                box = [x - 25 * unit, h - nav / 2 - 25 * unit, x + 25 * unit, h - nav / 2 + 25 * unit]
                (d.ellipse if i == 1 else d.rectangle)(box, outline=fg, width=max(2, round(4 * unit)))
        bottom = h - nav
    buttons = int(rng.integers(4, 8))
    palette = rng.random() < 0.5
    size = round(rng.uniform(90, 130) * unit)  # a button's diameter
    if style == "tablet":
        panel = round(rng.uniform(1.4, 2.0) * size)
        d.rectangle([0, top, panel, h], fill=(44, 44, 48) if dark else (238, 238, 242))
        centres = [(panel / 2, top + size * (1.5 * i + 1)) for i in range(buttons)]
        left = panel
    elif style == "floating":
        width = rng.uniform(0.55, 0.85) * w
        tray = [(w - width) / 2, bottom - 2.2 * size, (w + width) / 2, bottom - 0.6 * size]
        d.rounded_rectangle(tray, round(0.8 * size), fill=(50, 50, 55) if dark else (236, 236, 240),
                            outline=(90, 90, 95) if dark else (200, 200, 205), width=2)
        centres = [(tray[0] + width * (i + 0.5) / buttons, (tray[1] + tray[3]) / 2) for i in range(buttons)]
        bottom = tray[1]
    else:
        tray = round(1.6 * size)
        d.rectangle([0, bottom - tray, w, bottom], fill=chrome)
        centres = [(w * (i + 0.5) / buttons, bottom - tray / 2) for i in range(buttons)]
        bottom -= tray
    for i, (x, y) in enumerate(centres):
        r = size / 2 * (0.8 if style == "floating" else 1)
        if palette:
            d.ellipse([x - r, y - r, x + r, y + r], fill=PALETTE[i % len(PALETTE)], outline=fg, width=2)
        else:
            d.ellipse([x - r, y - r, x + r, y + r], outline=fg, width=max(2, round(4 * unit)))
            d.line([(x - r / 2, y + r / 2), (x + r / 2, y - r / 2)], fill=fg, width=max(3, round(6 * unit)))
    several = ink.shape[1] > ink.shape[0]
    tall = (rng.uniform(0.3, 0.8) if several else rng.uniform(0.2, 0.7)) * (w - left) * ink.shape[0] / ink.shape[1]
    tall = int(min(tall, 0.8 * (bottom - top)))
    wide = int(tall * ink.shape[1] / ink.shape[0] * (0.8 if not several else 1))
    margin = int(0.04 * (w - left))
    x = int(rng.integers(left + margin, max(left + margin + 1, w - wide - margin)))
    y = int(rng.integers(top + margin, max(top + margin + 1, int(bottom) - tall - margin)))
    colour = (245, 245, 245) if dark else (int(rng.integers(0, 60)),) * 3
    img.paste(Image.new("RGB", (wide, tall), colour), (x, y), Image.fromarray(ink).resize((wide, tall), Image.BICUBIC))
    return encode(img, "JPEG", quality=90) if rng.random() < 0.25 else encode(img, "PNG")


def face_photo(seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A JPEG photo of nothing a digit could be: a head (skin a little darker than the wall behind it,
    dark hair over it, two eyes, a smile) against a plain wall, a little out of focus."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    wall = tuple(int(v) for v in rng.integers(150, 240, 3))
    img = Image.fromarray(np.clip(np.array(wall, np.float32) + rng.normal(0, 5, (h, w, 1)), 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    cx, cy, r = w / 2 + rng.uniform(-0.15, 0.15) * w, h / 2 + rng.uniform(-0.1, 0.1) * h, rng.uniform(0.2, 0.33) * h
    d.ellipse([cx - r, cy - 1.2 * r, cx + r, cy + 1.2 * r], fill=tuple(int(v) for v in rng.integers(170, 235, 3)))
    d.ellipse([cx - 1.05 * r, cy - 1.3 * r, cx + 1.05 * r, cy - rng.uniform(0.3, 0.5) * r],
              fill=tuple(int(v) for v in rng.integers(20, 90, 3)))
    eye = 0.08 * r
    for side in (-0.35, 0.35):
        d.ellipse([cx + side * r - eye, cy - 0.15 * r - eye, cx + side * r + eye, cy - 0.15 * r + eye], fill=(40, 35, 35))
    d.arc([cx - 0.4 * r, cy + 0.2 * r, cx + 0.4 * r, cy + 0.7 * r], 20, 160, fill=(150, 60, 60), width=max(3, round(0.03 * r)))
    return encode(img.filter(ImageFilter.GaussianBlur(2)), "JPEG", quality=88)


def screen_photo(ink: np.ndarray, seed: int = 0, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A phone's JPEG photo of a monitor showing a 28x28 MNIST digit (white on black; or a row of them)
    dark on its bright screen: a dark bezel 1-2.5% of the photo wide around the screen (60-95% of each
    side), a room from dark to mid grey around that, the screen's faint scan-line moire, turned up to 5
    degrees, a little out of focus. The writing 30-70% of the screen's height."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    room = float(rng.uniform(40, 120))
    img = Image.fromarray(np.clip(room + rng.normal(0, 6, (h, w, 1)).repeat(3, 2), 0, 255).astype(np.uint8))
    sw, sh = int(rng.uniform(0.6, 0.95) * w), int(rng.uniform(0.6, 0.95) * h)
    left, top = int((w - sw) / 2 + rng.uniform(-0.04, 0.04) * w), int((h - sh) / 2 + rng.uniform(-0.04, 0.04) * h)
    bezel = rng.uniform(0.01, 0.025) * w
    ImageDraw.Draw(img).rectangle([left - bezel, top - bezel, left + sw + bezel, top + sh + bezel], fill=(15, 15, 18))
    glow = float(rng.uniform(200, 250))
    screen = np.full((sh, sw), glow, np.float32) * (1 - 0.04 * (np.sin(np.arange(sh) * rng.uniform(0.8, 1.6)) > 0.6))[:, None]
    tall = min(int(rng.uniform(0.3, 0.7) * sh), int(0.9 * sw * ink.shape[0] / ink.shape[1]))
    wide = int(tall * ink.shape[1] / ink.shape[0])
    mark = np.asarray(Image.fromarray(ink).resize((wide, tall), Image.BICUBIC), np.float32) / 255
    y, x = int((sh - tall) * rng.uniform(0.2, 0.8)), int((sw - wide) * rng.uniform(0.2, 0.8))
    screen[y:y + tall, x:x + wide] *= 1 - mark
    screen = np.clip(screen + rng.normal(0, 4, screen.shape), 0, 255).astype(np.uint8)
    img.paste(Image.fromarray(screen).convert("RGB"), (left, top))
    img = img.rotate(rng.uniform(-5, 5), resample=Image.BICUBIC, fillcolor=(int(room),) * 3)
    return encode(img.filter(ImageFilter.GaussianBlur(1.2)), "JPEG", quality=85)


def turned_photo(ink: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900),
                 turn: tuple[float, float] = (12.0, 30.0)) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black; or a row of them) written dark on paper
    that fills the photo, taken with the phone turned `turn` degrees (either way): the writing and the
    page's grain turned together. The writing 15-40% of the height (a row: at most 75% of the width
    before turning), near the middle; lit a little unevenly, slightly out of focus."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    side = int(np.hypot(w, h)) + 4  # a page larger than the photo, so that it fills it once turned
    tall = min(int(rng.uniform(0.15, 0.4) * h), int(0.75 * w * ink.shape[0] / ink.shape[1]))
    wide = int(tall * ink.shape[1] / ink.shape[0])
    paper = rng.uniform(185, 235)
    page = np.full((side, side), paper, np.float32) + np.linspace(-12, 12, side, dtype=np.float32)[None, :] * rng.choice([-1, 1])
    mark = np.asarray(Image.fromarray(ink).resize((wide, tall), Image.BICUBIC), np.float32) / 255
    y = (side - tall) // 2 + int(rng.uniform(-0.1, 0.1) * h)
    x = (side - wide) // 2 + int(rng.uniform(-0.05, 0.05) * w)
    page[y:y + tall, x:x + wide] = page[y:y + tall, x:x + wide] * (1 - mark) + rng.uniform(20, 60) * mark
    page += rng.normal(0, 4, page.shape).astype(np.float32)
    degrees = rng.uniform(*turn) * rng.choice([-1, 1])
    turned = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).rotate(degrees, resample=Image.BICUBIC)
    shot = turned.crop(((side - w) // 2, (side - h) // 2, (side - w) // 2 + w, (side - h) // 2 + h))
    return encode(shot.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2))).convert("RGB"), "JPEG", quality=88)


def shown_on_page(ink: np.ndarray, seed: int = 0) -> bytes:
    """A screenshot of a 28x28 MNIST digit (white on black; or a row of them) shown as an image on a
    light web page or notebook: scaled 4-14x (pixelated or smooth), a margin of the page (white or
    light grey, 1-40% of the picture's height, unequal) kept around it; PNG, or one in three JPEG."""
    rng = np.random.default_rng(seed)
    h, w = ink.shape
    side = int(h * rng.uniform(4, 14))
    picture = Image.fromarray(ink).resize((side * w // h, side), Image.NEAREST if rng.random() < 0.5 else Image.BICUBIC)
    margins = [max(1, int(side * rng.uniform(0.01, 0.4))) for _ in range(4)]
    page = Image.new("L", (picture.width + margins[0] + margins[2], picture.height + margins[1] + margins[3]),
                     int(rng.choice([255, 248, 240, 232])))
    page.paste(picture, (margins[0], margins[1]))
    if rng.random() < 1 / 3:
        return encode(page.convert("RGB"), "JPEG", quality=int(rng.integers(70, 95)))
    return encode(page.convert("RGB"), "PNG")


def blackboard_photo(ink: np.ndarray, seed: int = 0, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A phone JPEG of a 28x28 MNIST digit (white on black; or a row of them) written in chalk on a
    blackboard (dark green or black, chalk dust, 55-85% of each side of the photo) hanging on a light
    wall; the writing 20-60% of the board's height; lit a little unevenly, slightly out of focus."""
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    wall = rng.uniform(185, 235) * np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 1.0)], np.float32)
    photo = np.ones((h, w, 3), np.float32) * wall
    bw, bh = int(w * rng.uniform(0.55, 0.85)), int(h * rng.uniform(0.55, 0.85))
    x0, y0 = int((w - bw) * rng.uniform(0.2, 0.8)), int((h - bh) * rng.uniform(0.2, 0.8))
    board = np.ones((bh, bw, 3), np.float32) * np.array([[30, 55, 42], [28, 28, 30]][int(rng.integers(2))], np.float32)
    board += rng.normal(0, 6, (bh, bw, 1)).astype(np.float32)  # chalk dust
    tall = min(int(bh * rng.uniform(0.2, 0.6)), int(0.85 * bw * ink.shape[0] / ink.shape[1]))
    wide = tall * ink.shape[1] // ink.shape[0]
    mark = np.asarray(Image.fromarray(ink).resize((wide, tall), Image.BICUBIC), np.float32)[..., None] / 255
    y, x = int((bh - tall) * rng.uniform(0.1, 0.9)), int((bw - wide) * rng.uniform(0.1, 0.9))
    board[y:y + tall, x:x + wide] = board[y:y + tall, x:x + wide] * (1 - mark) + rng.uniform(200, 240) * mark
    photo[y0:y0 + bh, x0:x0 + bw] = board
    light = 1 - 0.15 * np.linspace(0, 1, w, dtype=np.float32)[None, :, None] * rng.choice([-1, 1])
    img = Image.fromarray(np.clip(photo * light, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    return encode(img, "JPEG", quality=int(rng.integers(80, 93)))


def barcode_photo(seed: int = 0, digits_below: bool = False) -> bytes:
    """A JPEG of a one-dimensional barcode: 25-60 black bars 1-4 modules wide (a module 2-5 px) with as
    wide gaps, 60-220 px tall; `digits_below`: a line of 13 printed digits under them, as on a product's
    EAN code; half of them turned up to 5 degrees and softened, as photographed."""
    from PIL import ImageDraw, ImageFilter, ImageFont

    from training.negatives import FONT_DIR

    rng = np.random.default_rng(seed)
    module, bars, height = int(rng.integers(2, 6)), int(rng.integers(25, 60)), int(rng.integers(60, 220))
    widths = rng.integers(1, 5, 2 * bars) * module
    img = Image.new("L", (int(widths.sum()) + 80, height + 80 + (60 if digits_below else 0)), 255)
    d, x = ImageDraw.Draw(img), 40
    for i, w in enumerate(widths.tolist()):
        if i % 2 == 0:
            d.rectangle([x, 40, x + w - 1, 40 + height], fill=0)
        x += w
    if digits_below:
        d.text((50, 50 + height), "".join(map(str, rng.integers(0, 10, 13))), fill=0,
               font=ImageFont.truetype(str(FONT_DIR / "DejaVuSansMono.ttf"), 36))
    if rng.random() < 0.5:
        img = img.rotate(float(rng.uniform(-5, 5)), expand=True, fillcolor=240).filter(ImageFilter.GaussianBlur(0.8))
    return encode(img.convert("RGB"), "JPEG", quality=85)


def shadow_photo(digit: np.ndarray, level: float, edge_blur: float, seed: int = 0,
                 size: tuple[int, int] = (1200, 900)) -> tuple[bytes, bool]:
    """A phone JPEG of a sheet filling the photo with a shadow across it (a hand's, a phone's): from one side,
    its edge a straight slanted line, covering 15-75% of the photo, the paper in it at `level` of the lit
    paper, the edge blurred by `edge_blur` px (2: a hard shadow, 12: a soft one); a 28x28 MNIST digit written
    15-30% of the photo's height tall anywhere on it, in ink at 20% of the paper under it. Also whether the
    digit's centre lies in the shadow."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    w, h = size
    paper = np.full((h, w), rng.uniform(215, 245), np.float32)
    a, b = rng.uniform(0.3, 0.6) + rng.uniform(-0.15, 0.15, 2)
    corners = {0: [(0, 0), (a * w, 0), (b * w, h), (0, h)], 1: [(w, 0), ((1 - a) * w, 0), ((1 - b) * w, h), (w, h)],
               2: [(0, 0), (w, 0), (w, a * h), (0, b * h)], 3: [(0, h), (w, h), (w, (1 - a) * h), (0, (1 - b) * h)]}
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon(corners[int(rng.integers(4))], fill=255)
    shade = np.asarray(mask.filter(ImageFilter.GaussianBlur(edge_blur)), np.float32) / 255
    lit = paper * (1 - shade * (1 - level))
    side = int(rng.uniform(0.15, 0.3) * h)
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.BICUBIC), np.float32) / 255
    y0, x0 = int(rng.integers(50, h - side - 50)), int(rng.integers(50, w - side - 50))
    lit[y0:y0 + side, x0:x0 + side] *= 1 - 0.8 * ink
    shot = Image.fromarray(np.clip(lit + rng.normal(0, 3, lit.shape), 0, 255).astype(np.uint8)).convert("RGB")
    in_shadow = bool(shade[y0 + side // 2, x0 + side // 2] > 0.5)
    return encode(shot.filter(ImageFilter.GaussianBlur(0.8)), "JPEG", quality=88), in_shadow
