#!/usr/bin/env python3
"""Writes seeds/demo-city.json: the demo city that scripts/load-seeds.sh loads through the registry API.

    python3 seeds/generate.py            # rewrite seeds/demo-city.json
    python3 seeds/generate.py --check    # only check that the file on disk is what this script writes

The output is deterministic: a fixed random seed, ids derived with uuid5 from fixed names, and a fixed
reference day (TODAY) for ages. Running it again writes the same bytes. Every record is checked here
against the registry's rules (RegistryCore/Validation.swift, NationalID.swift) before it is written.
Standard library only.

Changing the data changes request bodies: a registry that already holds the old seeds answers the
changed records with 422 idempotency-key-reused. Reset the local stack (scripts/down.sh, scripts/up.sh)
after regenerating.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import random
import re
import sys
import uuid

OUT = pathlib.Path(__file__).resolve().parent / "demo-city.json"
SEED = 20261123
# Ages (elderly, minor) are reckoned on this day, so the output does not change with the calendar.
TODAY = dt.date(2026, 11, 23)
NAMESPACE = uuid.UUID("7af55c88-2fed-41d1-9010-da2b53093a92")

rng = random.Random(SEED)


def fixed_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "demo-city/" + "/".join(parts)))


# ------------------------------------------------------------------ national IDs (GB 11643-1999) ---
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def check_character(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def is_valid_national_id(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return False
    if check_character(value[:17]) != value[17] or value[0] not in "12345678":
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= TODAY


used_ids: set[str] = set()


def national_id(area: str, born: dt.date, male: bool) -> str:
    while True:
        order = rng.randrange(0, 1000)
        if (order % 2 == 1) != male:  # the 17th digit is odd for men, even for women
            continue
        first17 = f"{area}{born:%Y%m%d}{order:03d}"
        value = first17 + check_character(first17)
        if value not in used_ids:
            used_ids.add(value)
            assert is_valid_national_id(value), value
            return value


# --------------------------------------------------------------------------------------- people ---
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方邹熊孟秦白江阎薛尹段雷侯龙史黎贺顾毛郝龚邵万钱覃武戴孔")
# Given names by generation: (born before 1970, 1970-1994, 1995 and later).
GIVEN = {
    True: (["建国", "国平", "德明", "永福", "振华", "卫东", "广才", "树林", "长林", "春生", "立新", "耀祖", "富贵", "有才", "保国"],
           ["志强", "海涛", "伟", "军", "晓东", "明辉", "文斌", "少华", "家豪", "俊杰", "建华", "勇", "磊", "斌", "鹏"],
           ["子轩", "浩然", "宇航", "天佑", "博文", "一鸣", "嘉诚", "锦程", "梓豪", "俊熙", "宇轩", "皓轩", "沐阳", "奕辰", "睿"]),
    False: (["秀英", "桂兰", "玉梅", "淑贞", "翠花", "春梅", "凤英", "素芬", "桂芳", "秀珍", "玉兰", "月华", "彩霞", "金凤", "淑华"],
            ["丽娟", "芳", "静", "敏", "海燕", "晓红", "美玲", "雪梅", "慧敏", "丹丹", "雅琴", "丽华", "红霞", "燕", "莉"],
            ["婷婷", "雨涵", "欣怡", "梓萱", "思琪", "佳慧", "晨曦", "诗雨", "若兰", "梦瑶", "可馨", "语桐", "紫涵", "一诺", "芷若"]),
}
used_names: set[str] = set()


def person_name(male: bool, born: dt.date, surname: str | None = None) -> str:
    pool = GIVEN[male][0 if born.year < 1970 else 1 if born.year < 1995 else 2]
    for _ in range(500):
        name = (surname or rng.choice(SURNAMES)) + rng.choice(pool)
        if name not in used_names:
            used_names.add(name)
            return name
    raise RuntimeError("ran out of names")


PHONE_PREFIXES = ["130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186", "187", "188", "199"]
used_phones: set[str] = set()


def phone() -> str:
    while True:
        value = rng.choice(PHONE_PREFIXES) + f"{rng.randrange(0, 10**8):08d}"
        if value not in used_phones:
            used_phones.add(value)
            return value


def birth(min_age: int, max_age: int) -> dt.date:
    """A birthday that makes the person between min_age and max_age (inclusive) on TODAY."""
    latest = dt.date(TODAY.year - min_age, TODAY.month, TODAY.day)
    earliest = dt.date(TODAY.year - max_age - 1, TODAY.month, TODAY.day) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randrange((latest - earliest).days + 1))


def age(born: dt.date) -> int:
    return TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))


def day_between(first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


# ---------------------------------------------------------------------------------------- places ---
# Area codes in national IDs: residents registered here carry the district's code; floating residents
# carry their home county's.
DISTRICT_AREA = {"D01": "440305", "D02": "440306"}
ORIGINS = [
    ("湖南省衡阳市衡南县", "430422"),
    ("四川省南充市营山县", "511322"),
    ("江西省赣州市于都县", "360731"),
    ("河南省周口市郸城县", "411625"),
    ("广西壮族自治区玉林市博白县", "450923"),
    ("湖北省黄冈市麻城市", "421181"),
    ("贵州省毕节市织金县", "520524"),
]

# district code, name, streets: (code, name, communities: (code, name, type, workstation, grids: (boundary, buildings: (name, address, floors))))
CITY = [
    ("D01", "青禾区", [
        ("S01", "桂园街道", [
            ("C01", "老街社区", "old-city", "老街社区党群服务中心（桂园路18号）", [
                ("东至打铁巷，南至河滨路，西至桂园路，北至青禾大道", [
                    ("桂园路12号楼", "青禾区桂园路12号", 6),
                    ("打铁巷3号楼", "青禾区打铁巷3号", 5),
                    ("老街巷7号楼", "青禾区老街巷7号", 4),
                ]),
                ("东至米市街，南至河滨路，西至打铁巷，北至青禾大道", [
                    ("米市街21号楼", "青禾区米市街21号", 6),
                    ("河滨路45号楼", "青禾区河滨路45号", 7),
                ]),
            ]),
            ("C02", "机械厂社区", "work-unit", "机械厂社区服务站（厂前路2号原工会楼）", [
                ("青禾机械厂家属区围墙以内，东至厂前路，南至铁路专用线，西至机修车间，北至桂园北路", [
                    ("机械厂宿舍1栋", "青禾区厂前路6号机械厂宿舍1栋", 5),
                    ("机械厂宿舍2栋", "青禾区厂前路6号机械厂宿舍2栋", 5),
                    ("机械厂宿舍5栋", "青禾区厂前路8号机械厂宿舍5栋", 6),
                ]),
            ]),
        ]),
        ("S02", "望海街道", [
            ("C01", "海韵社区", "new-build", "海韵社区党群服务中心（海韵花园会所二楼）", [
                ("海韵花园一期：东至望海路，南至海韵一街，西至滨海公园，北至海韵二街", [
                    ("海韵花园1栋", "青禾区望海路188号海韵花园1栋", 32),
                    ("海韵花园2栋", "青禾区望海路188号海韵花园2栋", 32),
                ]),
                ("海韵花园二期：东至望海路，南至海韵二街，西至滨海公园，北至望海中学", [
                    ("海韵花园6栋", "青禾区望海路199号海韵花园6栋", 28),
                    ("海韵花园7栋", "青禾区望海路199号海韵花园7栋", 28),
                    ("海韵花园8栋", "青禾区望海路199号海韵花园8栋", 28),
                ]),
            ]),
            ("C02", "安居苑社区", "resettlement", "安居苑社区工作站（安居苑A区1栋架空层）", [
                ("安居苑A区、B区：东至安居路，南至望海南路，西至沙河，北至安居苑小学", [
                    ("安居苑A3栋", "青禾区安居路66号安居苑A3栋", 18),
                    ("安居苑A5栋", "青禾区安居路66号安居苑A5栋", 18),
                    ("安居苑B2栋", "青禾区安居路68号安居苑B2栋", 18),
                ]),
            ]),
        ]),
    ]),
    ("D02", "云溪区", [
        ("S01", "柳岸街道", [
            ("C01", "柳塘社区", "village-to-residence", "柳塘社区党群服务中心（原柳塘村委会）", [
                ("柳塘新村北片：东至柳塘河，南至祠堂路，西至云溪大道，北至柳岸工业园", [
                    ("柳塘新村3栋", "云溪区祠堂路3号柳塘新村3栋", 8),
                    ("柳塘新村5栋", "云溪区祠堂路5号柳塘新村5栋", 8),
                ]),
                ("柳塘新村南片及旧村：东至柳塘河，南至柳岸南路，西至云溪大道，北至祠堂路", [
                    ("柳塘新村12栋", "云溪区柳岸南路12号柳塘新村12栋", 9),
                    ("柳塘旧村27号", "云溪区柳塘旧村27号", 4),
                ]),
            ]),
            ("C02", "南门社区", "old-city", "南门社区服务中心（南门大街40号）", [
                ("东至府前巷，南至护城河，西至南门大街，北至鼓楼路", [
                    ("南门大街33号楼", "云溪区南门大街33号", 5),
                    ("府前巷9号楼", "云溪区府前巷9号", 4),
                    ("鼓楼路17号楼", "云溪区鼓楼路17号", 6),
                ]),
            ]),
        ]),
        ("S02", "石桥镇", [
            ("C01", "石桥村", "rural", "石桥村党群服务中心（村委会）", [
                ("石桥村一组、二组：东至石桥河，南至县道X213，西至后山林地，北至石桥水库", [
                    ("石桥村一组8号", "云溪区石桥镇石桥村一组8号", 2),
                    ("石桥村一组15号", "云溪区石桥镇石桥村一组15号", 2),
                    ("石桥村二组3号", "云溪区石桥镇石桥村二组3号", 3),
                ]),
            ]),
        ]),
    ]),
]

GRID_ORDINALS = "一二三四五六七八九十"

places: list[dict] = []
buildings: list[dict] = []  # with their context, for households
for d_code, d_name, streets in CITY:
    places.append({"code": d_code, "level": "district", "name": d_name})
    for s_suffix, s_name, communities in streets:
        s_code = f"{d_code}-{s_suffix}"
        places.append({"code": s_code, "level": "street", "name": s_name, "parentCode": d_code})
        for c_suffix, c_name, c_type, workstation, grids in communities:
            c_code = f"{s_code}-{c_suffix}"
            places.append({"code": c_code, "level": "community", "name": c_name, "parentCode": s_code,
                           "communityType": c_type, "workstation": workstation})
            for g_index, (boundary, grid_buildings) in enumerate(grids, start=1):
                g_code = f"{c_code}-G{g_index:02d}"
                places.append({"code": g_code, "level": "grid", "name": f"{c_name}第{GRID_ORDINALS[g_index - 1]}网格",
                               "parentCode": c_code, "boundary": boundary})
                for b_index, (b_name, address, floors) in enumerate(grid_buildings, start=1):
                    b_code = f"{g_code}-B{b_index:02d}"
                    places.append({"code": b_code, "level": "building", "name": b_name, "parentCode": g_code, "address": address})
                    buildings.append({"code": b_code, "address": address, "floors": floors, "district": d_code,
                                      "street": s_code, "community": c_code, "grid": g_code, "type": c_type})

# ------------------------------------------------------------------------- households, residents ---
# Household templates. Each member: (kind, relation) where kind picks the age band.
#   elder: 62-88, adult: 26-58, young: 19-30, child: 2-17
TEMPLATES = {
    "elderly-couple": [("elder", "head"), ("elder", "spouse")],
    "elder-alone": [("elder", "head")],
    "family": [("adult", "head"), ("adult", "spouse"), ("child", "child")],
    "three-generations": [("elder", "head"), ("adult", "child"), ("child", "grandchild")],
    "couple": [("adult", "head"), ("adult", "spouse")],
    "single": [("adult", "head")],
    "floating-workers": [("young", "head"), ("young", "roommate")],
    "floating-family": [("adult", "head"), ("adult", "spouse"), ("child", "child")],
    "floating-single": [("young", "head")],
}
AGE_BANDS = {"elder": (62, 88), "adult": (26, 58), "young": (19, 30), "child": (2, 17)}

# Which templates fit which community type; floating households rent where rents are low.
TEMPLATES_BY_TYPE = {
    "old-city": ["elderly-couple", "elder-alone", "three-generations", "floating-workers", "floating-single", "single"],
    "work-unit": ["elderly-couple", "elder-alone", "three-generations", "couple"],
    "new-build": ["family", "couple", "couple", "floating-family", "single"],
    "resettlement": ["three-generations", "family", "floating-workers", "elder-alone", "single"],
    "village-to-residence": ["three-generations", "floating-workers", "floating-family", "floating-single", "floating-single", "family"],
    "rural": ["three-generations", "elderly-couple", "family"],
}

households: list[dict] = []
residents: list[dict] = []
people: list[dict] = []  # residents with what the generator knows about them (age, place, template)

for building in buildings:
    count = 1 if building["type"] == "rural" else rng.choice([1, 2, 1, 2, 2])
    rooms_used: set[str] = set()
    for h_index in range(1, count + 1):
        key = f"{building['code']}/{h_index}"
        household_id = fixed_id("household", key)
        if building["type"] == "rural":
            address = building["address"]
        else:
            while True:
                room = f"{rng.randint(1, building['floors'])}{rng.randint(1, 4):02d}室"
                if room not in rooms_used:
                    rooms_used.add(room)
                    break
            address = f"{building['address']}{room}"
        households.append({"id": household_id, "buildingCode": building["code"], "address": address})

        template_name = rng.choice(TEMPLATES_BY_TYPE[building["type"]])
        floating = template_name.startswith("floating")
        origin, origin_area = rng.choice(ORIGINS)
        arrived = day_between(dt.date(2018, 3, 1), dt.date(2026, 9, 30))
        family_surname = rng.choice(SURNAMES)
        head_male = rng.random() < 0.6
        for m_index, (kind, relation) in enumerate(TEMPLATES[template_name], start=1):
            if relation == "head":
                male = head_male
            elif relation == "spouse":
                male = not head_male
            else:
                male = rng.random() < 0.5
            born = birth(*AGE_BANDS[kind])
            # Children take the head's surname when the head is a man; grown children too.
            surname = family_surname if (relation in ("head", "child", "grandchild") and head_male) or relation == "head" else None
            name = person_name(male, born, surname)
            area = origin_area if floating else DISTRICT_AREA[building["district"]]
            resident = {
                "id": fixed_id("resident", key, str(m_index)),
                "householdId": household_id,
                "name": name,
                "nationalId": national_id(area, born, male),
            }
            if kind != "child" and not (kind == "elder" and rng.random() < 0.35):
                resident["phone"] = phone()
            resident["residency"] = "floating" if floating else "registered"
            groups: list[str] = []
            if age(born) >= 60:
                groups.append("elderly")
            if age(born) < 18:
                groups.append("minor")
            if floating:
                member_arrived = arrived if relation != "roommate" else day_between(arrived, dt.date(2026, 10, 31))
                purpose = "family" if kind == "child" else rng.choice(["work", "work", "work", "business"])
                registration = {"origin": origin, "arrivedOn": member_arrived.isoformat()}
                # A residence permit is issued after six months; it runs three years.
                if (TODAY - member_arrived).days > 190 and kind != "child":
                    issued = member_arrived + dt.timedelta(days=rng.randint(185, 260))
                    registration["permitNumber"] = f"{DISTRICT_AREA[building['district']]}{issued.year}{rng.randrange(10**6):06d}"
                    expires = issued.replace(year=issued.year + 3, day=min(issued.day, 28) if issued.month == 2 else issued.day)
                    registration["permitExpiresOn"] = expires.isoformat()
                registration["purpose"] = purpose
                resident["floating"] = registration
                if purpose == "work":
                    groups.append("migrant-worker")
            resident["groups"] = groups
            residents.append(resident)
            people.append({"resident": resident, "born": born, "age": age(born), "male": male, "kind": kind,
                           "template": template_name, "building": building, "floating": floating})

# Groups beyond age and residency, given to people who fit them.


def pick(predicate, count: int, group: str) -> list[dict]:
    candidates = [p for p in people if predicate(p) and group not in p["resident"]["groups"]]
    chosen = rng.sample(candidates, count)
    for p in chosen:
        p["resident"]["groups"].append(group)
    return chosen


def adult(p):
    return 18 <= p["age"] < 60


pick(lambda p: p["age"] >= 18, 4, "disabled")
pick(lambda p: "disabled" in p["resident"]["groups"], 1, "severely-disabled")
# 低保 households: every member of two registered households in older communities.
low_income_households = rng.sample(
    sorted({p["resident"]["householdId"] for p in people
            if not p["floating"] and p["building"]["type"] in ("old-city", "resettlement", "rural")}), 3)
for p in people:
    if p["resident"]["householdId"] in low_income_households:
        p["resident"]["groups"].append("low-income")
pick(lambda p: adult(p) and not p["floating"], 3, "unemployed")
pick(lambda p: p["age"] >= 75 and not p["floating"], 2, "entitled")
pick(lambda p: p["kind"] == "child" and not p["floating"], 1, "single-parent-child")
# Sensitive groups: recorded only by roles that may (the loader's city-admin token may).
sensitive = pick(lambda p: adult(p) and not p["floating"] and p["building"]["type"] in ("old-city", "resettlement"), 1, "community-correction")
sensitive += pick(lambda p: adult(p) and not p["floating"] and p not in sensitive, 1, "released-prisoner")
ORDER = ["elderly", "disabled", "severely-disabled", "minor", "low-income", "unemployed", "migrant-worker", "single-parent-child",
         "entitled", "community-correction", "released-prisoner", "drug-user", "mental-illness"]
for p in people:
    p["resident"]["groups"].sort(key=ORDER.index)

# ----------------------------------------------------------------------------------- organisations ---
# Unified social credit codes (GB 32100-2015): authority, type, area, organisation code (GB 11714 check), check.
CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code(authority_and_type: str, area: str) -> str:
    body = f"{rng.randrange(10**8):08d}"
    org_check = 11 - sum(int(c) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2])) % 11
    body += {10: "X", 11: "0"}.get(org_check, str(org_check))
    first17 = authority_and_type + area + body
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return first17 + CREDIT_CHARS[(31 - total % 31) % 31]


def place_name(code: str) -> str:
    return next(p["name"] for p in places if p["code"] == code)


organisations: list[dict] = []


def organisation(slug: str, name: str, kind: str, legal_person: bool, serves: str,
                 authority: str | None = None, number: str | None = None) -> str:
    record = {"id": fixed_id("organisation", slug), "name": name, "kind": kind, "legalPerson": legal_person}
    if authority:
        record["registrationAuthority"] = authority
    if number:
        record["registrationNumber"] = number
    record["servesPlace"] = serves
    organisations.append(record)
    return record["id"]


for p in places:
    if p["level"] == "community":
        suffix = "村民委员会" if p["communityType"] == "rural" else "居民委员会"
        organisation(f"committee/{p['code']}", p["name"].removesuffix("村") + ("村" if p["communityType"] == "rural" else "") + suffix,
                     "residents-committee", True, p["code"])
ORG = {
    "owners": organisation("owners/haiyun", "海韵花园业主大会业主委员会", "owners-committee", False, "D01-S02-C01"),
    "property": organisation("property/haiyun", "青禾海韵物业服务有限公司", "property-company", True, "D01-S02-C01",
                             "市场监督管理局", credit_code("91", "440305")),
    "property-anju": organisation("property/anju", "云溪安居物业管理有限公司", "property-company", True, "D01-S02-C02",
                                  "市场监督管理局", credit_code("91", "440306")),
    "social-group": organisation("social-group/qinghe-social-workers", "青禾区社会工作者协会", "social-group", True, "D01",
                                 "民政局", credit_code("51", "440305")),
    "elder-association": organisation("social-group/laojie-elders", "老街社区老年人协会", "social-group", False, "D01-S01-C01"),
    "pne": organisation("pne/yunxi-sunshine", "云溪区阳光社会工作服务中心", "private-non-enterprise", True, "D02",
                        "民政局", credit_code("52", "440306")),
    "foundation": organisation("foundation/qinghe-community", "青禾区社区发展基金会", "foundation", True, "D01",
                               "民政局", credit_code("53", "440305")),
    "enterprise": organisation("enterprise/hexin-homecare", "禾信居家养老服务有限公司", "enterprise", True, "D02",
                               "市场监督管理局", credit_code("91", "440306")),
    "volunteers": organisation("volunteers/qinghe", "青禾区志愿者联合会", "volunteer-organisation", True, "D01",
                               "民政局", credit_code("51", "440305")),
    "volunteer-team": organisation("volunteers/liutang-team", "柳塘社区银龄志愿服务队", "volunteer-organisation", False, "D02-S01-C01"),
}

# ------------------------------------------------------------------------------------------ roles ---
roles: list[dict] = []
taken: set[str] = set()


def holder(where, min_age=23, max_age=58, registered_only=False, staff=True, fallback=True) -> dict | None:
    """A resident free of other roles, living in `where` (a place-code prefix) when someone there fits,
    else in the same district, else anywhere in the city. Staff (paid or appointed roles) are not in
    the unemployed, low-income or disabled groups; nobody with a role is in a sensitive group."""
    excluded = {"community-correction", "released-prisoner", "severely-disabled"}
    if staff:
        excluded |= {"unemployed", "low-income", "disabled"}

    def fits(p, prefix):
        return (p["building"]["code"].startswith(prefix) and min_age <= p["age"] <= max_age
                and p["resident"]["id"] not in taken and not (registered_only and p["floating"])
                and not excluded & set(p["resident"]["groups"]))
    for prefix in (where, where[:3], "") if fallback else (where,):
        candidates = [p for p in people if fits(p, prefix)]
        if candidates:
            break
    else:
        if not fallback:
            return None
        raise RuntimeError(f"no free resident aged {min_age}-{max_age}")
    chosen = rng.choice(candidates)
    taken.add(chosen["resident"]["id"])
    return chosen


def role(kind: str, person: dict, place: str, details: dict | None, started: str) -> None:
    record = {"id": fixed_id("role", kind, str(sum(r["role"] == kind for r in roles) + 1)),
              "residentId": person["resident"]["id"], "role": kind, "placeCode": place}
    if details is not None:
        record["details"] = details
    record["startedOn"] = started
    roles.append(record)


def started_on() -> str:
    return day_between(dt.date(2018, 1, 1), dt.date(2026, 6, 30)).isoformat()


# A grid worker for every grid, preferably living in the grid's community.
for grid in [p for p in places if p["level"] == "grid"]:
    role("grid-worker", holder(grid["parentCode"], registered_only=True), grid["code"], None, started_on())

# People's mediation committees at each level.
role("mediator", holder("D01-S01-C01", 40, 70, True), "D01-S01-C01", {"mediatorLevel": "community", "fullTime": False}, started_on())
role("mediator", holder("D02-S01-C01", 40, 70, True), "D02-S01-C01", {"mediatorLevel": "community", "fullTime": False}, started_on())
role("mediator", holder("D01-S02", 30, 60, True), "D01-S02", {"mediatorLevel": "street", "fullTime": True}, started_on())
role("mediator", holder("D02", 35, 60, True), "D02", {"mediatorLevel": "district", "fullTime": True}, started_on())

SLOTS = ["mon 09:00-12:00", "tue 14:00-17:00", "wed 09:00-11:30", "thu 19:00-21:00", "fri 14:00-18:00", "sat 09:00-12:00",
         "sat 14:00-17:00", "sun 08:30-11:30"]
VOLUNTEERS = [
    ("D01-S01-C01", ["elder-care", "escort"]),
    ("D01-S01-C02", ["repairs", "elder-care"]),
    ("D01-S02-C01", ["tutoring", "digital-help"]),
    ("D01-S02-C02", ["first-aid", "elder-care"]),
    ("D02-S01-C01", ["tutoring", "translation"]),
    ("D02-S01-C02", ["legal-aid", "counselling"]),
    ("D02-S02-C01", ["cooking", "elder-care"]),
]
for community, skills in VOLUNTEERS:
    role("volunteer", holder(community, 18, 72, staff=False), community,
         {"skills": skills, "availability": sorted(rng.sample(SLOTS, rng.randint(1, 3)), key=SLOTS.index)}, started_on())

# Experts sit in the district's expert pool; they may live anywhere in the city.
role("expert", holder("D01", 35, 65, True), "D01", {"fields": ["social-work", "elder-care"], "affiliations": [ORG["social-group"], ORG["pne"]]}, started_on())
role("expert", holder("D01", 35, 65, True), "D01", {"fields": ["law", "mediation"], "affiliations": [ORG["foundation"]]}, started_on())
role("expert", holder("D02", 35, 65, True), "D02", {"fields": ["finance", "audit"], "affiliations": [ORG["enterprise"]]}, started_on())

role("community-worker", holder("D01-S01-C01", 25, 55, True), "D01-S01-C01", None, started_on())
role("community-worker", holder("D02-S01-C01", 25, 55, True), "D02-S01-C01", None, started_on())
role("social-worker", holder("D01-S02-C02", 25, 55, True), "D01-S02-C02", None, started_on())

# A building head (栋长) lives in the building: one in a new-build tower, one in a work-unit block.
for community in ["D01-S02-C01", "D01-S01-C02"]:
    for building_code in sorted({b["code"] for b in buildings if b["community"] == community}):
        person = holder(building_code, 25, 75, True, staff=False, fallback=False)
        if person:
            role("building-head", person, building_code, None, started_on())
            break
    else:
        raise RuntimeError(f"nobody in {community} can be a building head")

# ------------------------------------------------------------------------------------------ checks ---


def check() -> None:
    codes = [p["code"] for p in places]
    assert len(codes) == len(set(codes)), "duplicate place code"
    for p in places:
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}", p["code"]), p
        assert 0 < len(p["name"]) <= 100
        assert (p["level"] == "community") == ("communityType" in p)
        assert (p["level"] == "grid") == ("boundary" in p)
        assert (p["level"] == "building") == ("address" in p)
    types = {p["communityType"] for p in places if p["level"] == "community"}
    assert types == {"old-city", "new-build", "resettlement", "work-unit", "village-to-residence", "rural"}, types
    ids = [r["id"] for r in households + residents + organisations + roles]
    assert len(ids) == len(set(ids)), "duplicate id"
    building_codes = {p["code"] for p in places if p["level"] == "building"}
    assert all(h["buildingCode"] in building_codes for h in households)
    household_ids = {h["id"] for h in households}
    nids = [r["nationalId"] for r in residents]
    assert len(nids) == len(set(nids)), "duplicate national ID"
    for r in residents:
        assert r["householdId"] in household_ids
        assert is_valid_national_id(r["nationalId"]), r
        assert r["groups"] == sorted(set(r["groups"]), key=ORDER.index), r
        assert (r["residency"] == "floating") == ("floating" in r)
        if "floating" in r:
            f = r["floating"]
            assert dt.date.fromisoformat(f["arrivedOn"]) <= TODAY
            if "permitExpiresOn" in f:
                assert f["permitExpiresOn"] >= f["arrivedOn"]
    assert sum(r["residency"] == "floating" for r in residents) >= 10
    resident_ids = {r["id"] for r in residents}
    org_ids = {o["id"] for o in organisations}
    for r in roles:
        assert r["residentId"] in resident_ids
        assert r["placeCode"] in codes
        for a in r.get("details", {}).get("affiliations", []):
            assert a in org_ids
    for o in organisations:
        assert o["servesPlace"] in codes


check()

document = {
    "about": "Demo city for the community-governance platform. Invented places and people; national IDs are "
             "well-formed (GB 11643-1999) but belong to no one. Written by seeds/generate.py; loaded by "
             "scripts/load-seeds.sh through the registry API.",
    "referenceDay": TODAY.isoformat(),
    "places": places,
    "households": households,
    "residents": residents,
    "organisations": organisations,
    "roles": roles,
}
text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"

if "--check" in sys.argv[1:]:
    if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
        sys.exit(f"{OUT.name} is not what generate.py writes; run python3 seeds/generate.py")
    print(f"{OUT.name} is up to date")
else:
    OUT.write_text(text, encoding="utf-8")

levels = {}
for p in places:
    levels[p["level"]] = levels.get(p["level"], 0) + 1
groups_count: dict[str, int] = {}
for r in residents:
    for g in r["groups"]:
        groups_count[g] = groups_count.get(g, 0) + 1
roles_count: dict[str, int] = {}
for r in roles:
    roles_count[r["role"]] = roles_count.get(r["role"], 0) + 1
print("places:", ", ".join(f"{v} {k}" for k, v in levels.items()), file=sys.stderr)
print(f"households: {len(households)}, residents: {len(residents)} "
      f"({sum(r['residency'] == 'floating' for r in residents)} floating), organisations: {len(organisations)}, roles: {len(roles)}",
      file=sys.stderr)
print("groups:", ", ".join(f"{g} {groups_count[g]}" for g in ORDER if g in groups_count), file=sys.stderr)
print("roles:", ", ".join(f"{k} {v}" for k, v in roles_count.items()), file=sys.stderr)
