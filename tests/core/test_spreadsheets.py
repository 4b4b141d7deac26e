"""The file layer of imports and exports: what a worker uploads is read as the text they see in each cell, and
every file we cannot read says why and what to do. Fixture files are built here, not committed."""
import codecs
import datetime as dt
import io
import os
import random
import resource
import zipfile

import openpyxl
import pytest

from core.spreadsheets import Column, Row, SpreadsheetError, read, template, write_xlsx

COLUMNS = [
    Column("name", "姓名", required=True),
    Column("id_number", "身份证号码", required=True, aliases=("公民身份号码",)),
    Column("sex", "性别", choices=("男", "女")),
    Column("joined_on", "入会日期", kind="date"),
    Column("phone", "手机号码"),
]
ID = "420502199001011238"


def rows_of(data: bytes, filename: str = "会员.xlsx", columns=COLUMNS, **limits) -> list[Row]:
    return list(read(io.BytesIO(data), filename, columns, **limits))


def refusal(data: bytes, filename: str = "会员.xlsx", **limits) -> SpreadsheetError:
    with pytest.raises(SpreadsheetError) as error:
        rows_of(data, filename, **limits)
    return error.value


def workbook_file(*rows, build=None) -> bytes:
    """An xlsx as openpyxl writes it, with ``build(sheet)`` to merge cells or type formulas."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "会员"
    for row in rows:
        sheet.append(row)
    if build:
        build(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_file(sheet_data: str, shared_strings=(), *, prolog: str = "", dimension: str = "", after: str = "",
               prefix: str = "") -> bytes:
    """An xlsx with the parts Excel itself writes: text in the shared strings table, numbers as Excel stores them
    (an 18-digit number as 4.20502199001011E+17), style 1 a date format."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    strings = "".join(text if text.startswith("<si>") else f"<si><t>{text}</t></si>" for text in shared_strings)
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
        'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType='
        '"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/><Override PartName='
        '"/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '</Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="'
        'Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.'
        f'org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/'
        f'sheet1.xml"/><Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
        f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/></Relationships>',
        "xl/styles.xml": f'<?xml version="1.0"?><styleSheet xmlns="{main}"><fonts count="1"><font/></fonts><fills '
        'count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><sst xmlns="{main}">{strings}</sst>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?>{prolog}<{prefix}worksheet xmlns{":" if prefix else ""}'
        f'{prefix[:-1]}="{main}">{dimension}<{prefix}sheetData>{sheet_data}</{prefix}sheetData>{after}'
        f'</{prefix}worksheet>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            package.writestr(name, text)
    return buffer.getvalue()


# --- what a worker fills in comes back as text --------------------------------------------------------------

def test_a_filled_in_template_is_read_back_as_rows_of_text():
    filled = template(COLUMNS, sheet_title="会员", examples=[
        {"name": "张三", "id_number": ID, "sex": "男", "joined_on": dt.date(2020, 3, 1), "phone": "13800138000"},
    ])

    assert rows_of(filled) == [Row(2, {"name": "张三", "id_number": ID, "sex": "男", "joined_on": "2020-03-01",
                                       "phone": "13800138000"}, {})]


def test_an_export_reads_back_as_the_same_text():
    exported = b"".join(write_xlsx(COLUMNS, [
        {"name": "张三", "id_number": ID, "sex": "男", "joined_on": dt.date(2020, 3, 1), "phone": 13800138000},
        {"name": "=HYPERLINK(\"http://x\")", "id_number": 420502199001011238, "joined_on": None},
    ], sheet_title="会员"))

    assert [row.values for row in rows_of(exported)] == [
        {"name": "张三", "id_number": ID, "sex": "男", "joined_on": "2020-03-01", "phone": "13800138000"},
        {"name": "=HYPERLINK(\"http://x\")", "id_number": ID, "sex": "", "joined_on": "", "phone": ""},
    ]


def test_an_export_holds_id_numbers_as_text_and_never_a_formula():
    exported = b"".join(write_xlsx(COLUMNS, [{"name": "=1+1", "id_number": 420502199001011238}], sheet_title="会员"))

    sheet = openpyxl.load_workbook(io.BytesIO(exported)).active
    assert [cell.value for cell in sheet[1]] == ["姓名", "身份证号码", "性别", "入会日期", "手机号码"]
    assert (sheet["A2"].data_type, sheet["B2"].data_type, sheet["B2"].value) == ("s", "s", ID)
    assert sheet.freeze_panes == "A2"


def test_an_export_of_many_rows_comes_in_chunks():
    rows = ({"name": f"会员{n}", "id_number": ID} for n in range(3000))

    chunks = list(write_xlsx(COLUMNS, rows, sheet_title="会员", chunk_size=8 * 1024))

    assert len(chunks) > 1 and all(len(chunk) <= 8 * 1024 for chunk in chunks)
    assert len(rows_of(b"".join(chunks))) == 3000


def test_headers_match_ignoring_spaces_full_width_forms_a_star_and_aliases():
    data = workbook_file([" 姓\u3000名 *", "公民身份号码", "性别＊", "入会日期\xa0"], ["张三", ID, "男", "2020-03-01"])

    assert rows_of(data)[0].values["id_number"] == ID


def test_a_serial_number_column_is_ignored():
    assert rows_of(workbook_file(["序号", "姓名", "身份证号码"], [1, "张三", ID]))[0].values["name"] == "张三"


def test_missing_required_headers_are_named():
    error = refusal(workbook_file(["姓名", "性别"], ["张三", "男"]))

    assert error.errors == {"header": ["缺少必填的列：身份证号码"]}
    assert "工作表「会员」第 1 行的表头不对" in error.message


def test_unknown_and_duplicate_headers_are_named():
    error = refusal(workbook_file(["姓名", "身份证号码", "公民身份号码", "工号"], ["张三", ID, ID, "7"]))

    assert error.errors["header"] == [
        "不认识的列：工号（可用的列：姓名、身份证号码、性别、入会日期、手机号码）",
        "重复的列：身份证号码、公民身份号码 是同一列",
    ]


def test_a_title_row_above_the_headers_is_refused_naming_its_merged_range():
    def title(sheet):
        sheet.insert_rows(1)
        sheet["A1"] = "宜昌市某某公司工会会员花名册"
        sheet.merge_cells("A1:C1")

    error = refusal(workbook_file(["姓名", "身份证号码", "性别"], ["张三", ID, "男"], build=title))

    assert "header" in error.errors and "A1:C1" in error.message


def test_blank_rows_are_skipped_and_rows_are_numbered_as_excel_shows_them():
    data = workbook_file(["姓名", "身份证号码"], ["张三", ID], [], [" ", "\u3000"], ["李四", ID])

    assert [(row.number, row.values["name"]) for row in rows_of(data)] == [(2, "张三"), (5, "李四")]


def test_stray_spaces_are_stripped_and_what_people_type_is_passed_through():
    typed = "４２０５０２１９９００１０１１２３x"  # full-width digits, a lowercase x: the domain normalises them
    data = workbook_file(["姓名", "身份证号码"], ["\u3000张三\xa0 ", f" {typed}\t"])

    assert rows_of(data)[0].values == {"name": "张三", "id_number": typed, "sex": "", "joined_on": "", "phone": ""}


def test_every_cell_of_a_merged_range_is_a_problem_in_every_row_it_covers():
    data = workbook_file(["姓名", "身份证号码", "性别"], ["张三", ID, "男"], ["李四", ID, None], ["王五", ID, "女"],
                         build=lambda sheet: sheet.merge_cells("C2:C3"))

    rows = rows_of(data)

    assert [row.problems for row in rows] == [
        {"sex": "合并单元格 C2:C3 中的 C2：请取消合并，在每一行填上内容"},
        {"sex": "合并单元格 C2:C3 中的 C3：请取消合并，在每一行填上内容"},
        {},
    ]
    assert rows[0].values["sex"] == ""


def inline_rows(*rows, prefix="") -> str:
    """Rows as sheet XML, each cell an inline string."""
    return "".join(f'<{prefix}row r="{number}">' + "".join(
        f'<{prefix}c r="{chr(65 + column)}{number}" t="inlineStr"><{prefix}is><{prefix}t>{text}</{prefix}t>'
        f'</{prefix}is></{prefix}c>' for column, text in enumerate(row)) + f"</{prefix}row>"
        for number, row in enumerate(rows, start=1))


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_merged_cells_after_a_million_bytes_of_rows_are_found(prefix):
    rows = [["姓名", "身份证号码"]] + [[f"会员{n}", ID] for n in range(20_000)]
    merges = f'<{prefix}mergeCells count="1"><{prefix}mergeCell ref="A20000:A20001"/></{prefix}mergeCells>'
    data = excel_file(inline_rows(*rows, prefix=prefix), after=merges, prefix=prefix)

    problems = [(row.number, row.problems) for row in rows_of(data) if row.problems]

    assert problems == [(20_000, {"name": "合并单元格 A20000:A20001 中的 A20000：请取消合并，在每一行填上内容"}),
                        (20_001, {"name": "合并单元格 A20000:A20001 中的 A20001：请取消合并，在每一行填上内容"})]


def test_a_formula_is_a_problem_naming_its_cell_not_its_cached_value():
    def formulas(sheet):
        sheet["B3"] = '="4205021990"&"01011238"'

    rows = rows_of(workbook_file(["姓名", "身份证号码"], ["张三", ID], ["李四", None], build=formulas))

    assert rows[1].problems == {"id_number": "公式单元格 B3：请复制该列后“选择性粘贴为数值”"}
    assert rows[1].values["id_number"] == ""


def test_text_in_runs_of_several_fonts_is_read_whole_without_its_phonetic_guide():
    data = excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                      '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>',
                      ["姓名", "身份证号码", '<si><r><rPr><b/></rPr><t>欧阳</t></r><r><t xml:space="preserve">娜娜 </t></r>'
                       '<rPh sb="0" eb="2"><t>オウヨウ</t></rPh></si>', ID])

    assert rows_of(data)[0].values["name"] == "欧阳娜娜"


def test_an_error_value_is_a_problem_naming_its_cell():
    data = excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                      '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="e"><v>#N/A</v></c></row>',
                      ["姓名", "身份证号码", "张三"])

    assert rows_of(data)[0].problems == {"id_number": "单元格 B2 是错误值 #N/A：请改成实际内容"}


def test_numbers_excel_stores_are_read_exactly_and_rounded_ones_refused():
    data = excel_file(
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2"><v>420502900101123</v></c><c r="C2"><v>13800138000</v>'
        '</c></row>'
        '<row r="3"><c r="A3" t="s"><v>3</v></c><c r="B3"><v>4.20502199001011E+17</v></c><c r="C3"><v>1.38001380'
        '00E+10</v></c></row>',
        ["姓名", "身份证号码", "手机号码", "张三"])

    first, second = rows_of(data)

    assert (first.values["id_number"], first.values["phone"]) == ("420502900101123", "13800138000")
    assert second.values["phone"] == "13800138000"
    assert second.problems == {"id_number": "单元格 B3 的数字 4.20502199001011E+17 超过 15 位，Excel 已丢掉末尾几位："
                                            "请把该列设为“文本”格式后重新输入"}


def test_a_csv_saved_from_a_sheet_that_rounded_an_id_number_is_refused_for_that_cell():
    data = f"姓名,身份证号码\n张三,4.20502199001011E+17\n李四,{ID}\n".encode()

    assert [row.problems for row in rows_of(data, "会员.csv")] == [
        {"id_number": "单元格 B2 是科学计数法 4.20502199001011E+17，Excel 已丢掉位数：请把该列设为“文本”格式后重新输入"},
        {},
    ]


def test_dates_in_cells_are_read_as_iso_dates():
    data = workbook_file(["姓名", "身份证号码", "入会日期"], ["张三", ID, dt.date(2020, 3, 1)],
                         ["李四", ID, dt.datetime(2021, 5, 6, 0, 0)], ["王五", ID, dt.datetime(2021, 5, 6, 8, 30)])
    serial = excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v>'
                        '</c></row><row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" s="1">'
                        '<v>43891</v></c></row>', ["姓名", "身份证号码", "入会日期", "张三", ID])

    assert [row.values["joined_on"] for row in rows_of(data)] == ["2020-03-01", "2021-05-06", "2021-05-06 08:30:00"]
    assert rows_of(serial)[0].values["joined_on"] == "2020-03-01"


def test_a_sheet_whose_dimension_is_wrong_is_read_whole():
    data = excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                      '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>',
                      ["姓名", "身份证号码", "张三", ID], dimension='<dimension ref="A1"/>')

    assert rows_of(data)[0].values["id_number"] == ID


def test_the_first_visible_sheet_is_read():
    def hide_first(sheet):
        sheet.title = "旧数据"
        sheet.sheet_state = "hidden"
        sheet.parent.create_sheet("会员").append(["姓名", "身份证号码"])
        sheet.parent["会员"].append(["张三", ID])

    assert rows_of(workbook_file(["无关"], build=hide_first))[0].values["name"] == "张三"


# --- csv ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_a_csv_in_utf_8_or_gbk_is_read(encoding):
    data = f"姓名,身份证号码,性别\n\u3000欧阳娜娜 ,{ID},女\n,,\n鎔基,{ID},男\n".encode(encoding)

    assert [(row.number, row.values["name"], row.values["sex"]) for row in rows_of(data, "会员.csv")] == [
        (2, "欧阳娜娜", "女"), (4, "鎔基", "男")]


def test_a_csv_saved_as_unicode_text_with_tabs_is_read():
    assert rows_of(f"姓名\t身份证号码\n张三\t{ID}\n".encode(), "会员.txt")[0].values["id_number"] == ID


def test_a_csv_whose_later_row_is_in_another_encoding_names_that_row():
    utf_8 = f"姓名,身份证号码\n" + f"张三,{ID}\n" * 5000  # more than the 64 KiB the encoding is told from
    data = utf_8.encode() + f"李四,{ID}\n".encode("gbk")

    reading = read(io.BytesIO(data), "会员.csv", COLUMNS)
    assert sum(1 for _ in zip(range(5000), reading)) == 5000
    with pytest.raises(SpreadsheetError) as error:
        next(reading)
    assert list(error.value.errors) == ["row 5002"]


def test_a_csv_with_a_runaway_quote_names_the_row():
    data = ("姓名,身份证号码\n" + '"张三,' + "x" * 200_000 + "\n").encode()

    assert list(refusal(data, "会员.csv").errors) == ["row 2"]


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1024 / 1024


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="measures resident memory on Linux")
def test_a_50_mb_csv_is_read_row_by_row_with_flat_memory(tmp_path):
    # Long rows (a 500-byte name) so the test measures bytes, not the speed of a million rows.
    path, line = tmp_path / "会员.csv", f"{'张' * 160},{ID},男,2020-03-01,13800138000\n".encode()
    with path.open("wb") as file:
        file.write("姓名,身份证号码,性别,入会日期,手机号码\n".encode())
        for _ in range(50 * 1024 * 1024 // len(line) // 10_000 + 1):
            file.write(line * 10_000)
    assert path.stat().st_size > 50 * 1024 * 1024

    rows = read(path, path.name, COLUMNS)
    before, growth, count = resident_mb(), 0.0, 0
    for count, _ in enumerate(rows, start=1):
        if count % 10_000 == 0:
            growth = max(growth, resident_mb() - before)

    assert count == 50 * 1024 * 1024 // len(line) // 10_000 * 10_000 + 10_000
    assert growth < 10


# --- files we refuse ----------------------------------------------------------------------------------------

def test_a_file_over_the_size_limit_is_refused_before_it_is_read():
    two_mb = "姓名,身份证号码\n".encode() + f"张三,{ID}\n".encode() * 80_000

    error = refusal(two_mb, "会员.csv", max_bytes=1024 * 1024)

    assert error.errors == {"file": ["文件超过 1 MB 的上限：请分成几个文件上传"]}


def test_a_file_with_more_rows_than_the_limit_is_refused_naming_the_row():
    data = f"姓名,身份证号码\n张三,{ID}\n李四,{ID}\n王五,{ID}\n".encode()

    assert list(refusal(data, "会员.csv", max_rows=2).errors) == ["row 4"]


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, content in members.items():
            package.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("members", [
    {"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b" " * (64 * 1024 * 1024)},
    {"xl/workbook.xml": b"<workbook/>", **{f"xl/media/{n}.xml": b"" for n in range(10_001)}},
], ids=["inflates 1000x", "ten thousand parts"])
def test_a_zip_bomb_is_refused_before_it_is_opened(members):
    bomb = zip_of(members)

    assert "压缩炸弹" in refusal(bomb).message


def test_a_sheet_with_a_dtd_is_refused():
    laughs = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    data = excel_file('<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row>', prolog=laughs)

    assert "DTD" in refusal(data).message


def test_a_shared_strings_table_that_expands_entities_is_refused():
    laughs = "".join(f'<!ENTITY {chr(98 + n)} "{f"&{chr(97 + n)};" * 10}">' for n in range(8))
    package = zipfile.ZipFile(io.BytesIO(excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')))
    bomb = zip_of({name: package.read(name) for name in package.namelist() if name != "xl/sharedStrings.xml"} | {
        "xl/sharedStrings.xml": f'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "{"a" * 50}">{laughs}]><sst xmlns='
                                '"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&i;</t></si></sst>'})

    assert "文件已损坏" in refusal(bomb).message


def test_a_cell_pointing_at_a_missing_shared_string_is_a_damaged_file():
    data = excel_file('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
                      '<row r="2"><c r="A2" t="s"><v>99</v></c></row>', ["姓名", "身份证号码"])

    assert refusal(data).errors == {"sheet": ["工作表「Sheet1」已损坏，读不下去：请用 Excel 或 WPS 打开后另存为 .xlsx 或 "
                                              ".csv 再上传"]}


def test_an_empty_file_is_refused():
    assert refusal(b"").errors == {"file": ["文件是空的"]}


@pytest.mark.parametrize("content, says", [
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "是一张 PNG 图片，不是表格"),
    (b"\xff\xd8\xff\xe0" + bytes(100), "是一张 JPEG 图片"),
    (b"%PDF-1.7\n" + bytes(100), "是一个 PDF 文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "是旧版 Excel 的 .xls 文件"),
    ("<html><table><tr><td>姓名</td></tr></table></html>".encode(), "是网页或 XML 格式的表格"),
    (zip_of({"word/document.xml": b"<w/>"}), "这是Word 文档"),
    (zip_of({"content.xml": b"<x/>", "mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}), ".ods"),
    (zip_of({"readme.txt": b"hello"}), "这是压缩包"),
    (zip_of({"xl/workbook.xml": b"not xml"}), "文件已损坏"),
    (workbook_file(["姓名"])[:2000], "文件已损坏"),
    (random.Random(5).randbytes(100_000), "无法识别的文件"),
    (codecs.BOM_UTF16_LE + "姓名,身份证号码\n".encode("utf-16-le"), "UTF-16"),
], ids=["png", "jpeg", "pdf", "xls", "html named xls", "docx", "ods", "zip", "broken workbook", "truncated",
        "random bytes", "utf-16"])
def test_a_file_that_is_not_a_spreadsheet_says_what_to_do(content, says):
    error = refusal(content, "会员.xls")

    assert says in error.message
    assert list(error.errors) == ["file"]
    assert "另存为" in error.message


def test_a_stream_that_cannot_seek_is_read():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self._data.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    data = workbook_file(["姓名", "身份证号码"], ["张三", ID])

    assert [row.values["name"] for row in read(Pipe(data), "会员.xlsx", COLUMNS)] == ["张三"]


def test_a_file_on_disk_is_read_from_its_path(tmp_path):
    path = tmp_path / "会员.csv"
    path.write_bytes(f"姓名,身份证号码\n张三,{ID}\n".encode())

    assert [row.values["name"] for row in read(path, path.name, COLUMNS)] == ["张三"]


# --- the template ---------------------------------------------------------------------------------------------

def test_the_template_marks_required_headers_and_explains_each_one():
    columns = [Column("name", "姓名", required=True, note="与身份证一致"), Column("sex", "性别", choices=("男", "女"))]

    sheet = openpyxl.load_workbook(io.BytesIO(template(columns, sheet_title="会员"))).active

    assert [cell.value for cell in sheet[1]] == ["姓名*", "性别"]
    assert sheet["A1"].comment.text == "与身份证一致\n必填。"
    assert sheet.freeze_panes == "A2"


def test_the_template_gives_coded_columns_a_dropdown_and_long_lists_a_hidden_sheet():
    industries = tuple(f"{letter} 行业门类{letter}" for letter in "ABCDEFGHIJKLMNOPQRST") * 3
    columns = [Column("sex", "性别", choices=("男", "女")), Column("industry", "行业", choices=industries)]

    workbook = openpyxl.load_workbook(io.BytesIO(template(columns, sheet_title="单位")))
    validations = {str(v.sqref): v.formula1 for v in workbook["单位"].data_validations.dataValidation}

    assert validations == {"A2:A1048576": '"男,女"', "B2:B1048576": "'选项'!$A$1:$A$60"}
    assert workbook["选项"].sheet_state == "hidden"
    assert [row[0].value for row in workbook["选项"].iter_rows()] == list(industries)


def test_the_template_formats_text_columns_as_text_so_excel_keeps_id_numbers():
    sheet = openpyxl.load_workbook(io.BytesIO(template(COLUMNS, sheet_title="会员"))).active

    assert sheet.column_dimensions["B"].number_format == "@"
    assert sheet.column_dimensions["D"].number_format == "yyyy-mm-dd"
