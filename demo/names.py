"""Names, places and sites from which the demo data draws: Vietnamese and realistic."""

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    districts: tuple[str, ...]
    weight: int
    plate: str


PROVINCES = (
    Province(
        "01",
        "Hà Nội",
        (
            "Ba Đình",
            "Hoàn Kiếm",
            "Đống Đa",
            "Cầu Giấy",
            "Hai Bà Trưng",
            "Thanh Xuân",
            "Long Biên",
            "Hoàng Mai",
            "Hà Đông",
            "Đông Anh",
        ),
        20,
        "29",
    ),
    Province(
        "79",
        "TP. Hồ Chí Minh",
        (
            "Quận 1",
            "Quận 3",
            "Quận 7",
            "Bình Thạnh",
            "Gò Vấp",
            "Tân Bình",
            "Phú Nhuận",
            "TP. Thủ Đức",
            "Bình Tân",
            "Củ Chi",
        ),
        20,
        "51",
    ),
    Province(
        "24",
        "Bắc Giang",
        (
            "TP. Bắc Giang",
            "Lục Ngạn",
            "Lục Nam",
            "Tân Yên",
            "Việt Yên",
            "Yên Dũng",
            "Lạng Giang",
            "Hiệp Hòa",
            "Sơn Động",
            "Yên Thế",
        ),
        16,
        "98",
    ),
    Province(
        "27",
        "Bắc Ninh",
        ("TP. Bắc Ninh", "Từ Sơn", "Tiên Du", "Yên Phong", "Quế Võ", "Thuận Thành"),
        7,
        "99",
    ),
    Province(
        "31",
        "Hải Phòng",
        ("Hồng Bàng", "Lê Chân", "Ngô Quyền", "Hải An", "Kiến An", "Thủy Nguyên", "An Dương"),
        6,
        "15",
    ),
    Province(
        "48",
        "Đà Nẵng",
        ("Hải Châu", "Thanh Khê", "Sơn Trà", "Ngũ Hành Sơn", "Liên Chiểu", "Cẩm Lệ", "Hòa Vang"),
        5,
        "43",
    ),
    Province(
        "30",
        "Hải Dương",
        ("TP. Hải Dương", "Chí Linh", "Kinh Môn", "Thanh Hà", "Cẩm Giàng", "Gia Lộc"),
        4,
        "34",
    ),
    Province(
        "22", "Quảng Ninh", ("Hạ Long", "Cẩm Phả", "Uông Bí", "Móng Cái", "Đông Triều"), 3, "14"
    ),
    Province("19", "Thái Nguyên", ("TP. Thái Nguyên", "Sông Công", "Phổ Yên", "Đồng Hỷ"), 3, "20"),
    Province("26", "Vĩnh Phúc", ("Vĩnh Yên", "Phúc Yên", "Bình Xuyên", "Tam Dương"), 2, "88"),
    Province("36", "Nam Định", ("TP. Nam Định", "Hải Hậu", "Giao Thủy", "Ý Yên"), 2, "18"),
    Province("38", "Thanh Hóa", ("TP. Thanh Hóa", "Sầm Sơn", "Bỉm Sơn", "Thọ Xuân"), 4, "36"),
    Province(
        "40", "Nghệ An", ("TP. Vinh", "Cửa Lò", "Diễn Châu", "Quỳnh Lưu", "Nghi Lộc"), 4, "37"
    ),
    Province("46", "Thừa Thiên Huế", ("TP. Huế", "Hương Thủy", "Hương Trà", "Phú Vang"), 2, "75"),
    Province("56", "Khánh Hòa", ("Nha Trang", "Cam Ranh", "Ninh Hòa", "Diên Khánh"), 2, "79"),
    Province(
        "74", "Bình Dương", ("Thủ Dầu Một", "Thuận An", "Dĩ An", "Bến Cát", "Tân Uyên"), 5, "61"
    ),
    Province(
        "75",
        "Đồng Nai",
        ("Biên Hòa", "Long Khánh", "Nhơn Trạch", "Trảng Bom", "Long Thành"),
        4,
        "60",
    ),
    Province("92", "Cần Thơ", ("Ninh Kiều", "Bình Thủy", "Cái Răng", "Ô Môn"), 2, "65"),
)
PROVINCE_BY_CODE = {province.code: province for province in PROVINCES}
BAC_GIANG = PROVINCE_BY_CODE["24"]

LYCHEE_COMMUNES = {
    "Lục Ngạn": (
        "Phượng Sơn",
        "Quý Sơn",
        "Hồng Giang",
        "Giáp Sơn",
        "Nam Dương",
        "Thanh Hải",
        "Tân Quang",
        "Biển Động",
        "Kiên Thành",
        "Trù Hựu",
    ),
    "Lục Nam": ("Bảo Sơn", "Đông Hưng", "Nghĩa Phương", "Huyền Sơn"),
    "Tân Yên": ("Phúc Hòa", "Liên Sơn", "Cao Xá"),
}

INDUSTRIAL_PARKS = {
    "24": ("KCN Quang Châu", "KCN Vân Trung", "KCN Đình Trám", "KCN Song Khê - Nội Hoàng"),
    "27": ("KCN Yên Phong", "KCN Quế Võ", "KCN Tiên Sơn", "KCN VSIP Bắc Ninh"),
    "74": ("KCN VSIP I", "KCN Mỹ Phước", "KCN Sóng Thần"),
    "75": ("KCN Amata", "KCN Long Thành", "KCN Nhơn Trạch 2"),
    "31": ("KCN Đình Vũ", "KCN Tràng Duệ", "KCN Nomura"),
    "01": ("KCN Thăng Long", "KCN Nội Bài", "KCN Quang Minh"),
    "79": ("KCX Tân Thuận", "KCN Tân Bình", "KCN Hiệp Phước"),
}

STREETS = (
    "Trần Phú",
    "Lê Lợi",
    "Nguyễn Trãi",
    "Quang Trung",
    "Hoàng Văn Thụ",
    "Lý Thường Kiệt",
    "Hai Bà Trưng",
    "Ngô Quyền",
    "Trần Hưng Đạo",
    "Lê Duẩn",
    "Nguyễn Văn Cừ",
    "Hùng Vương",
    "Điện Biên Phủ",
    "Minh Khai",
    "Nguyễn Du",
    "Phan Đình Phùng",
    "Bạch Đằng",
    "Lê Thánh Tông",
    "Tô Hiệu",
    "Xương Giang",
    "Nguyễn Thị Minh Khai",
    "Võ Thị Sáu",
    "Lạc Long Quân",
    "Phạm Văn Đồng",
)

FAMILY_NAMES = (
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 30),
    ("Huỳnh", 20),
    ("Phan", 45),
    ("Vũ", 20),
    ("Võ", 19),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
    ("Đinh", 8),
    ("Trịnh", 6),
    ("Đoàn", 6),
    ("Lương", 5),
    ("Mai", 5),
    ("Cao", 4),
    ("Hà", 5),
    ("Lâm", 4),
    ("Tạ", 3),
    ("Chu", 2),
)

MALE_MIDDLE_NAMES = (
    "Đức",
    "Minh",
    "Quốc",
    "Hữu",
    "Công",
    "Thanh",
    "Xuân",
    "Ngọc",
    "Gia",
    "Hoàng",
    "Tuấn",
    "Đình",
    "Trọng",
    "Anh",
    "Quang",
    "Thành",
)
FEMALE_MIDDLE_NAMES = (
    "Ngọc",
    "Thu",
    "Thanh",
    "Minh",
    "Hồng",
    "Phương",
    "Khánh",
    "Bảo",
    "Mai",
    "Kim",
    "Thùy",
    "Diệu",
    "Hải",
    "Lan",
)
MALE_GIVEN_NAMES = (
    "An",
    "Anh",
    "Bình",
    "Cường",
    "Dũng",
    "Đạt",
    "Đức",
    "Dương",
    "Hải",
    "Hiếu",
    "Hiệp",
    "Hoàng",
    "Hùng",
    "Huy",
    "Khang",
    "Khánh",
    "Khoa",
    "Kiên",
    "Lâm",
    "Long",
    "Lộc",
    "Mạnh",
    "Minh",
    "Nam",
    "Nghĩa",
    "Phát",
    "Phong",
    "Phúc",
    "Quân",
    "Quang",
    "Sơn",
    "Tài",
    "Thắng",
    "Thành",
    "Thiện",
    "Thịnh",
    "Toàn",
    "Trung",
    "Tú",
    "Tuấn",
    "Tùng",
    "Việt",
    "Vinh",
    "Vũ",
)
FEMALE_GIVEN_NAMES = (
    "Anh",
    "Châu",
    "Chi",
    "Diệp",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hằng",
    "Hiền",
    "Hoa",
    "Hồng",
    "Huệ",
    "Hương",
    "Huyền",
    "Lan",
    "Liên",
    "Linh",
    "Loan",
    "Mai",
    "My",
    "Nga",
    "Ngân",
    "Ngọc",
    "Nhung",
    "Oanh",
    "Phương",
    "Quyên",
    "Quỳnh",
    "Tâm",
    "Thảo",
    "Thơ",
    "Thủy",
    "Trang",
    "Trâm",
    "Tuyết",
    "Uyên",
    "Vân",
    "Vy",
    "Yến",
)
BUSINESS_NAMES = (
    "Minh Phát",
    "Hoàng Long",
    "An Khang",
    "Thành Công",
    "Đại Việt",
    "Phú Thịnh",
    "Hưng Thịnh",
    "Sao Mai",
    "Trường Sơn",
    "Bình Minh",
    "Tân Phát",
    "Hải Đăng",
    "Kim Long",
    "Ánh Dương",
    "Thiên Phú",
    "Đông Á",
    "Phương Nam",
    "Hồng Hà",
    "Việt Hưng",
    "Thăng Long",
)

# Mobile prefixes in use since the 2018 renumbering, with rough market shares.
MOBILE_PREFIXES = (
    ("086", 5),
    ("096", 8),
    ("097", 9),
    ("098", 9),
    ("032", 4),
    ("033", 4),
    ("034", 4),
    ("035", 4),
    ("036", 4),
    ("037", 4),
    ("038", 4),
    ("039", 4),
    ("088", 3),
    ("091", 6),
    ("094", 5),
    ("081", 2),
    ("082", 2),
    ("083", 2),
    ("084", 2),
    ("085", 2),
    ("089", 2),
    ("090", 5),
    ("093", 4),
    ("070", 2),
    ("076", 1),
    ("077", 2),
    ("078", 1),
    ("079", 2),
    ("092", 1),
    ("056", 1),
    ("058", 1),
    ("099", 1),
    ("059", 1),
)

# The pre-2018 11-digit prefix each renumbered 10-digit prefix replaced.
PRE_2018_PREFIX = {
    **{f"03{d}": f"016{d}" for d in "23456789"},
    "070": "0120",
    "079": "0121",
    "077": "0122",
    "076": "0126",
    "078": "0128",
    "083": "0123",
    "084": "0124",
    "085": "0125",
    "081": "0127",
    "082": "0129",
    "056": "0186",
    "058": "0188",
    "059": "0199",
}

# Health-insurance beneficiary groups: code and benefit level.
INSURANCE_GROUPS_STUDENT = (("HS", "4"), ("SV", "4"))
INSURANCE_GROUPS_ADULT = (("DN", "4"), ("HC", "4"), ("GD", "4"), ("CN", "3"), ("HN", "1"))
INSURANCE_GROUPS_SENIOR = (("HT", "2"), ("GD", "4"), ("CB", "2"))

NATIONAL_LABS = (
    ("VSDTTW", "Viện Vệ sinh Dịch tễ Trung ương", "01"),
    ("BVNDTW", "Bệnh viện Bệnh Nhiệt đới Trung ương", "01"),
    ("BVBACHMAI", "Bệnh viện Bạch Mai", "01"),
    ("PASTEURHCM", "Viện Pasteur TP. Hồ Chí Minh", "79"),
    ("BVCHORAY", "Bệnh viện Chợ Rẫy", "79"),
    ("PASTEURNT", "Viện Pasteur Nha Trang", "56"),
)


def province_lab_code(province: Province) -> str:
    return f"CDC{province.code}"


def province_lab_name(province: Province) -> str:
    prefix = "thành phố" if province.code in ("01", "31", "48", "79", "92") else "tỉnh"
    name = province.name.removeprefix("TP. ")
    return f"Trung tâm Kiểm soát Bệnh tật {prefix} {name}"


def without_diacritics(text: str) -> str:
    """How a name looks when typed on a keyboard without Vietnamese input."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
